/**
 * The earliest pending timer entries, at most `capacity`, ordered by due time: the timer service's
 * in-memory working set (its "min-heap"). Entries that do not fit are not kept; the smallest due
 * time among them is remembered as `overflowDue`, and the service rescans the queue for them when
 * that time comes or when the buffer runs dry. Memory is bounded by `capacity` whatever the
 * queue holds.
 *
 * Kept as an array sorted by due time descending (ties: higher offset first), so the earliest
 * entry pops from the end in O(1) and the latest is evicted from the front.
 */
export interface DueEntry {
  due: number;
  queueOffset: number;
  commitLogOffset: number;
}

export class DueBuffer {
  private readonly items: DueEntry[] = [];
  /** Smallest due time of a pending entry not held here; Infinity when every one is held. */
  overflowDue = Number.POSITIVE_INFINITY;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  /** Earliest due time held, or Infinity. */
  get minDue(): number {
    return this.items[this.items.length - 1]?.due ?? Number.POSITIVE_INFINITY;
  }

  /** Earliest due time of any pending entry, held or not. */
  get nextDue(): number {
    return Math.min(this.minDue, this.overflowDue);
  }

  clear(): void {
    this.items.length = 0;
    this.overflowDue = Number.POSITIVE_INFINITY;
  }

  /**
   * Offers an entry. Entries due at or after `overflowDue` are left for the next rescan (which
   * finds them again), so every held entry is due before every entry left out, whenever possible.
   */
  offer(e: DueEntry): void {
    if (e.due >= this.overflowDue) return;
    if (this.items.length >= this.capacity) {
      const latest = this.items[0]!;
      if (!before(e, latest)) {
        this.overflowDue = e.due;
        return;
      }
      this.items.shift();
      this.overflowDue = Math.min(this.overflowDue, latest.due);
    }
    this.offerUnbounded(e);
  }

  /** Removes and returns up to `max` entries due at or before `now`, earliest first. */
  takeDue(now: number, max: number): DueEntry[] {
    const out: DueEntry[] = [];
    while (out.length < max && this.items.length > 0 && this.items[this.items.length - 1]!.due <= now) {
      out.push(this.items.pop()!);
    }
    return out;
  }

  /** Puts back entries taken but not delivered (a failed store write). */
  restore(entries: DueEntry[]): void {
    for (const e of entries) this.offerUnbounded(e);
  }

  /** Inserts in order whatever the capacity (binary search, descending). */
  private offerUnbounded(e: DueEntry): void {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.items[mid]!, e)) hi = mid;
      else lo = mid + 1;
    }
    this.items.splice(lo, 0, e);
  }
}

/** a is due strictly before b (ties broken by queue offset, the arrival order). */
function before(a: DueEntry, b: DueEntry): boolean {
  return a.due < b.due || (a.due === b.due && a.queueOffset < b.queueOffset);
}
