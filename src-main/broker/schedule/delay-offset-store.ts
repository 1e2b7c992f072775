/**
 * Persisted progress of the delay scheduler: per level, the next SCHEDULE_TOPIC_XXXX queue offset
 * to deliver; for the timer topic, its low-water mark and the delivered-offset bitmap above it.
 * RocketMQ: ScheduleMessageService#encode/#decode (`config/delayOffset.json`, served by
 * GET_ALL_DELAY_OFFSET) and the timer's checkpoint.
 *
 * File `<meta>/delay-offsets.json`, replaced whole on every save: write temp, fsync, rename, fsync
 * the directory. The document carries a CRC32 of its payload:
 *
 *   { "crc": <crc32 of JSON.stringify(data)>, "data": { "version": 1,
 *     "levels": { "<level>": <next offset>, … },
 *     "timer": { "low": <offset>, "origin": <offset of bit 0>, "bits": "<base64>" } } }
 *
 * Callers save only after the copies they account for are stored, so a crash repeats deliveries
 * (at least once) and never loses them. An unreadable file (damaged, wrong CRC) is reported and
 * treated as absent: every queue is scanned from its first offset (at least once again).
 */
import fs from 'node:fs';
import path from 'node:path';
import { bodyCrc32 } from '../store/message-codec.js';

export const DELAY_OFFSETS_FILE = 'delay-offsets.json';

export interface TimerProgress {
  /** Every timer-queue offset below this is delivered (or was never a message). */
  low: number;
  /** Queue offset of bit 0 of `bits` (≤ low). */
  origin: number;
  /** Delivered offsets at or above `low`, one bit per offset from `origin`, base64. */
  bits: string;
}

export interface DelayProgress {
  version: 1;
  levels: Record<string, number>;
  timer: TimerProgress;
}

export interface DelayOffsetLoad {
  progress: DelayProgress;
  /** Why the file was not used, when it existed but could not be read. */
  problem?: string;
}

export const emptyProgress = (): DelayProgress => ({ version: 1, levels: {}, timer: { low: 0, origin: 0, bits: '' } });

export class DelayOffsetStore {
  readonly file: string;

  constructor(readonly metaDir: string) {
    this.file = path.join(metaDir, DELAY_OFFSETS_FILE);
  }

  load(): DelayOffsetLoad {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { progress: emptyProgress() };
      return { progress: emptyProgress(), problem: `unreadable: ${(e as Error).message}` };
    }
    try {
      const doc = JSON.parse(text) as { crc?: unknown; data?: unknown };
      const payload = JSON.stringify(doc.data);
      if (typeof doc.crc !== 'number' || doc.crc !== bodyCrc32(Buffer.from(payload, 'utf8'))) {
        return { progress: emptyProgress(), problem: 'CRC mismatch' };
      }
      return { progress: validate(doc.data) };
    } catch (e) {
      return { progress: emptyProgress(), problem: `damaged: ${(e as Error).message}` };
    }
  }

  /** Replaces the file atomically and durably (temp + fsync + rename + directory fsync). */
  save(progress: DelayProgress): void {
    const payload = JSON.stringify(progress);
    const doc = `{"crc":${bodyCrc32(Buffer.from(payload, 'utf8'))},"data":${payload}}`;
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, doc);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    try {
      const dirFd = fs.openSync(this.metaDir, 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    } catch {
      // Directory fsync is not supported everywhere (Windows); the rename is still atomic.
    }
  }
}

function validate(data: unknown): DelayProgress {
  if (typeof data !== 'object' || data === null) throw new Error('not an object');
  const d = data as Partial<DelayProgress>;
  if (d.version !== 1) throw new Error(`unknown version ${String(d.version)}`);
  const levels: Record<string, number> = {};
  for (const [k, v] of Object.entries(d.levels ?? {})) {
    if (!/^\d+$/.test(k) || !Number.isSafeInteger(v) || v < 0) throw new Error(`bad level offset ${k}=${String(v)}`);
    levels[k] = v;
  }
  const t = d.timer ?? { low: 0, origin: 0, bits: '' };
  if (!Number.isSafeInteger(t.low) || !Number.isSafeInteger(t.origin) || t.origin > t.low || t.low < 0 || typeof t.bits !== 'string') {
    throw new Error('bad timer progress');
  }
  return { version: 1, levels, timer: { low: t.low, origin: t.origin, bits: t.bits } };
}
