/**
 * Which queue offsets are done, for a queue consumed out of order (the timer queue: entries are
 * due in any order). Everything below `low` is done; above it, one bit per offset. The bytes below
 * `low` are dropped as it advances, so memory is one bit per offset between the oldest pending
 * entry and the newest done one.
 */
export class OffsetBitmap {
  private bytes: Uint8Array;
  /** Offset of bit 0 (a multiple of 8 after compaction, or the loaded origin). */
  private origin: number;
  private lowMark: number;

  constructor(low = 0, origin = low, bits: Uint8Array = new Uint8Array(0)) {
    this.lowMark = low;
    this.origin = Math.min(origin, low);
    this.bytes = bits;
    this.advance();
  }

  static fromBase64(low: number, origin: number, base64: string): OffsetBitmap {
    return new OffsetBitmap(low, origin, new Uint8Array(Buffer.from(base64, 'base64')));
  }

  get low(): number {
    return this.lowMark;
  }

  has(offset: number): boolean {
    if (offset < this.lowMark) return true;
    const i = offset - this.origin;
    const byte = i >> 3;
    return byte < this.bytes.length && ((this.bytes[byte] ?? 0) & (1 << (i & 7))) !== 0;
  }

  set(offset: number): void {
    if (offset < this.lowMark) return;
    const i = offset - this.origin;
    const byte = i >> 3;
    if (byte >= this.bytes.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bytes.length * 2, 64));
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[byte] = (this.bytes[byte] ?? 0) | (1 << (i & 7));
    if (offset === this.lowMark) this.advance();
  }

  /** Marks [from, to) done (offsets that hold no message: holes, records removed). */
  setRange(from: number, to: number): void {
    for (let o = Math.max(from, this.lowMark); o < to; o++) this.set(o);
  }

  /** Moves `low` to `offset` when it is ahead (offsets below the queue's minimum). */
  raiseLow(offset: number): void {
    if (offset <= this.lowMark) return;
    this.lowMark = offset;
    this.advance();
  }

  /** Done offsets at or above low (what stats subtract from the queue span). */
  countAboveLow(): number {
    let n = 0;
    const first = this.lowMark - this.origin;
    for (let i = Math.max(0, first); i < this.bytes.length * 8; i++) {
      if (((this.bytes[i >> 3] ?? 0) & (1 << (i & 7))) !== 0) n++;
    }
    return n;
  }

  toJSON(): { low: number; origin: number; bits: string } {
    const used = this.usedLength();
    return { low: this.lowMark, origin: this.origin, bits: Buffer.from(this.bytes.subarray(0, used)).toString('base64') };
  }

  private usedLength(): number {
    let n = this.bytes.length;
    while (n > 0 && this.bytes[n - 1] === 0) n--;
    return n;
  }

  private advance(): void {
    while (this.has(this.lowMark)) this.lowMark++;
    const dropBytes = (this.lowMark - this.origin) >> 3;
    // Compact once a fair share is behind low, so the copy is amortised.
    if (dropBytes > 0 && (dropBytes >= 4096 || dropBytes * 2 >= this.bytes.length)) {
      this.bytes = this.bytes.slice(Math.min(dropBytes, this.bytes.length));
      this.origin += dropBytes * 8;
    }
  }
}
