/**
 * Delivery at an exact time (RocketMQ 5 timer messages: TIMER_DELIVER_MS / TIMER_DELAY_SEC /
 * TIMER_DELAY_MS), not limited to the delay levels.
 *
 * RocketMQ 5 keeps a timer log and a time wheel (TimerMessageStore, 1 s precision, 3-day max,
 * "rolling" far-future entries). This one keeps every timer message in the system topic
 * `rmq_sys_wheel_timer` (1 queue, tag code = due time, from TIMER_OUT_MS) and, in memory, only
 * the earliest pending entries (a {@link DueBuffer} of bounded size). The queue is read in pages:
 * fully at start and whenever the buffer runs dry while entries were left out, incrementally as
 * messages arrive. One timer is armed for the earliest due time; precision is that of a Node timer
 * (a few ms), not a wheel slot.
 *
 * Entries are due in any order, so progress is a low-water mark plus a bitmap of delivered
 * offsets above it ({@link OffsetBitmap}), saved with the delay levels' offsets after each batch
 * of copies is stored: nothing is lost across a crash (at least once), and a clean stop saves
 * exactly what was delivered (exactly once).
 */
import type { Logger } from '../../remoting/logger.js';
import type { MessageStore } from '../store/message-store.js';
import { tryDecodeMessage, type MessageExt } from '../store/message-codec.js';
import { DueBuffer, type DueEntry } from './due-buffer.js';
import { OffsetBitmap } from './offset-bitmap.js';
import type { TimerProgress } from './delay-offset-store.js';
import { MinuteCounter, RETRY_AFTER_FAILURE_MS, readPage, realTopicCopy, storeCopies } from './delivery.js';
import { Prop, TIMER_TOPIC } from './schedule-routing.js';

/** Entries held in memory at most (the rest wait in the queue for a rescan). */
export const TIMER_BUFFER_CAPACITY = 4096;
/** Copies stored per batch before progress is saved. */
const DELIVERY_BATCH = 64;
/** Pages read before yielding to the event loop during a scan. */
const PAGES_PER_TURN = 16;
const MAX_TIMER_MS = 0x7fffffff;

export interface TimerStats {
  /** Timer messages not yet delivered. */
  pendingCount: number;
  /** Earliest due time of a pending message, null when none. */
  nextDueTime: number | null;
  /** Store time of the oldest pending message (at the low-water mark), null when none. */
  oldestStoreTime: number | null;
  deliveredLastMinute: number;
}

export class TimerMessageService {
  private readonly buffer: DueBuffer;
  private done: OffsetBitmap;
  /** Offsets below this were offered to the buffer since the last full scan. */
  private scannedTo = 0;
  private needScan = true;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Number.POSITIVE_INFINITY;
  private running: Promise<void> | null = null;
  private rerun = false;
  private stopped = true;
  private readonly delivered = new MinuteCounter();

  constructor(private readonly store: MessageStore, private readonly persist: () => void, private readonly log: Logger,
    capacity = TIMER_BUFFER_CAPACITY) {
    this.buffer = new DueBuffer(capacity);
    this.done = new OffsetBitmap();
  }

  /** Restores saved progress (also on slaves, for stats). */
  load(progress: TimerProgress): void {
    this.done = OffsetBitmap.fromBase64(progress.low, progress.origin, progress.bits);
  }

  progress(): TimerProgress {
    return this.done.toJSON();
  }

  start(): void {
    this.stopped = false;
    this.needScan = true;
    this.kick();
  }

  /** Waits for a batch in flight (its progress is saved), then stays idle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    while (this.running) await this.running;
  }

  /** Called for every record dispatched to the timer queue. */
  onArrival(tagsCode: number): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    if (tagsCode < this.timerDue) this.kick();
  }

  stats(now = Date.now()): TimerStats {
    const max = this.store.getMaxOffset(TIMER_TOPIC, 0);
    const low = Math.max(this.done.low, this.store.getMinOffset(TIMER_TOPIC, 0));
    const pendingCount = Math.max(0, max - low - this.done.countAboveLow());
    const next = this.buffer.nextDue;
    const oldest = pendingCount > 0 ? this.store.getStoreTime(TIMER_TOPIC, 0, low) : -1;
    return {
      pendingCount,
      nextDueTime: pendingCount > 0 && Number.isFinite(next) ? next : null,
      oldestStoreTime: oldest >= 0 ? oldest : null,
      deliveredLastMinute: this.delivered.lastMinute(now),
    };
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.clearTimer();
    this.running = this.run()
      .catch((e: unknown) => {
        this.log.error(`timer delivery: ${(e as Error).stack ?? String(e)}`);
        this.arm(Date.now() + RETRY_AFTER_FAILURE_MS);
      })
      .finally(() => {
        this.running = null;
        if (this.rerun) {
          this.rerun = false;
          this.kick();
        }
      });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.needScan) {
        this.needScan = false;
        await this.scan(true);
      } else {
        await this.scan(false);
      }
      const now = Date.now();
      const due = this.buffer.takeDue(now, DELIVERY_BATCH);
      if (due.length === 0) {
        // Entries left out of the buffer are due first (or the buffer ran dry): read them in.
        if (this.buffer.overflowDue <= now || (this.buffer.size === 0 && Number.isFinite(this.buffer.overflowDue))) {
          this.needScan = true;
          continue;
        }
        this.arm(this.buffer.nextDue);
        return;
      }
      if (!(await this.deliver(due))) {
        this.arm(Date.now() + RETRY_AFTER_FAILURE_MS);
        return;
      }
    }
  }

  /** Stores the copies, marks them done, saves progress; false when the store refused (entries kept). */
  private async deliver(entries: DueEntry[]): Promise<boolean> {
    const messages: Array<MessageExt | null> = entries.map((e) => this.read(e));
    const copies = messages.map((m) => (m ? realTopicCopy(m, []) : null));
    for (const c of copies) if (c) c.properties[Prop.TIMER_DEQUEUE_MS] = String(Date.now());
    const outcomes = await storeCopies(this.store, copies, `${TIMER_TOPIC}/0`, this.log);
    const retry: DueEntry[] = [];
    let delivered = 0;
    outcomes.forEach((o, i) => {
      const e = entries[i]!;
      if (o === 'RETRY') retry.push(e);
      else {
        this.done.set(e.queueOffset);
        if (o === 'DELIVERED') delivered++;
      }
    });
    this.delivered.add(delivered);
    if (entries.length > retry.length) this.persist();
    if (retry.length > 0) {
      this.buffer.restore(retry);
      return false;
    }
    return true;
  }

  private read(e: DueEntry): MessageExt | null {
    const raw = this.store.lookMessageByOffset(e.commitLogOffset);
    const d = raw ? tryDecodeMessage(raw) : null;
    if (d?.ok && d.message.topic === TIMER_TOPIC && d.message.queueOffset === e.queueOffset) return d.message;
    this.log.error(`${TIMER_TOPIC}/0 offset ${e.queueOffset}: record at commitlog offset ${e.commitLogOffset} is gone`);
    return null;
  }

  /**
   * Offers queue entries to the buffer: all pending ones from the low-water mark (full), or those
   * that arrived since the last read. Offsets holding no message are marked done.
   */
  private async scan(full: boolean): Promise<void> {
    const min = this.store.getMinOffset(TIMER_TOPIC, 0);
    this.done.raiseLow(min);
    let offset: number;
    if (full) {
      this.buffer.clear();
      offset = this.done.low;
    } else {
      offset = Math.max(this.scannedTo, this.done.low);
    }
    let pages = 0;
    let marked = false;
    while (!this.stopped) {
      const page = readPage(this.store, TIMER_TOPIC, 0, offset, this.log);
      let expected = offset;
      for (const m of page.messages) {
        if (m.queueOffset > expected) {
          this.done.setRange(expected, m.queueOffset);
          marked = true;
        }
        expected = m.queueOffset + 1;
        if (this.done.has(m.queueOffset)) continue;
        const due = Number(m.properties[Prop.TIMER_OUT_MS]);
        this.buffer.offer({
          due: Number.isSafeInteger(due) ? due : m.storeTimestamp,
          queueOffset: m.queueOffset,
          commitLogOffset: m.commitLogOffset,
        });
      }
      if (page.nextOffset > expected && !page.end) {
        this.done.setRange(expected, page.nextOffset);
        marked = true;
      }
      if (page.end || page.nextOffset <= offset) break;
      offset = page.nextOffset;
      if (++pages % PAGES_PER_TURN === 0) await new Promise<void>((r) => setImmediate(r));
    }
    this.scannedTo = Math.max(offset, this.scannedTo);
    if (marked) this.persist();
  }

  private arm(due: number): void {
    this.clearTimer();
    if (this.stopped || !Number.isFinite(due)) return;
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDue = Number.POSITIVE_INFINITY;
      this.kick();
    }, Math.min(MAX_TIMER_MS, Math.max(0, due - Date.now())));
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Number.POSITIVE_INFINITY;
  }
}
