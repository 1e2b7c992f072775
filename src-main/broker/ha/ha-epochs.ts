/**
 * Epoch history of a broker group's commitlog: which master wrote which range. A new epoch
 * starts whenever a node becomes master by promotion (and once when a master first starts),
 * at that node's log end. Slaves adopt their master's history at each handshake.
 * Like RocketMQ 5's EpochFileCache (controller mode) and Kafka's leader epochs, reduced to what
 * a one-slave group needs to cut a divergent tail.
 *
 * File: `<dataDir>/ha/epochs.json` = {"version":1,"epochs":[{"epoch":1,"startOffset":0},...]},
 * written to a temp file, fsynced and renamed. An implicit epoch 0 starting at 0 heads every
 * history (logs written before any epoch was recorded).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EpochEntry } from './ha-protocol.js';

const EPOCH_ZERO: EpochEntry = { epoch: 0, startOffset: 0 };

export class EpochFile {
  private list: EpochEntry[] = [EPOCH_ZERO];

  constructor(readonly filePath: string) {}

  static inDataDir(dataDir: string): EpochFile {
    return new EpochFile(path.join(dataDir, 'ha', 'epochs.json'));
  }

  load(): void {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.filePath, 'utf8')) as { epochs?: EpochEntry[] };
      this.list = normalize(parsed.epochs ?? []);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`unreadable ${this.filePath}: ${(e as Error).message}`);
      this.list = [EPOCH_ZERO];
    }
  }

  entries(): EpochEntry[] {
    return this.list.map((e) => ({ ...e }));
  }

  get last(): EpochEntry {
    return this.list[this.list.length - 1] as EpochEntry;
  }

  /** Starts a new epoch at `startOffset` (dropping recorded epochs that start beyond it). */
  newEpoch(startOffset: number): EpochEntry {
    this.list = this.list.filter((e) => e.startOffset <= startOffset);
    const entry = { epoch: Math.max(...this.list.map((e) => e.epoch)) + 1, startOffset };
    this.list.push(entry);
    this.save();
    return entry;
  }

  /** A slave takes its master's history. */
  replace(entries: EpochEntry[]): void {
    const next = normalize(entries);
    if (JSON.stringify(next) === JSON.stringify(this.list)) return;
    this.list = next;
    this.save();
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.filePath), { recursive: true });
    const tmp = `${this.filePath}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify({ version: 1, epochs: this.list }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.filePath);
  }
}

function normalize(entries: EpochEntry[]): EpochEntry[] {
  const list = entries
    .filter((e) => Number.isSafeInteger(e.epoch) && Number.isSafeInteger(e.startOffset) && e.epoch > 0)
    .sort((a, b) => a.epoch - b.epoch);
  return [EPOCH_ZERO, ...list];
}

/**
 * Where a slave's log stops agreeing with its master's: the end of the last epoch both know,
 * taken as the smaller of where each side's copy of it ends (the master's current epoch ends at
 * its max offset). Everything the slave holds from there on was written by a master the current
 * one does not descend from (or lost itself), and is cut. Equal to `slaveMax` when nothing diverges.
 */
export function divergencePoint(slave: EpochEntry[], slaveMax: number, master: EpochEntry[], masterMax: number): number {
  const s = normalize(slave);
  const m = normalize(master);
  for (let i = s.length - 1; i >= 0; i--) {
    const entry = s[i] as EpochEntry;
    // Epochs the slave recorded but holds nothing of tell nothing about its bytes.
    if (entry.startOffset >= slaveMax && entry.epoch !== 0) continue;
    const j = m.findIndex((e) => e.epoch === entry.epoch);
    if (j < 0 || (m[j] as EpochEntry).startOffset !== entry.startOffset) continue;
    const slaveEnd = i + 1 < s.length ? Math.min(slaveMax, (s[i + 1] as EpochEntry).startOffset) : slaveMax;
    const masterEnd = j + 1 < m.length ? (m[j + 1] as EpochEntry).startOffset : masterMax;
    return Math.min(slaveEnd, masterEnd);
  }
  return 0;
}
