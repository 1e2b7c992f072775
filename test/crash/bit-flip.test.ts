/**
 * Bit flips: thousands of seeded single-bit flips across the CommitLog. After each batch the
 * store is reopened (one of three ways, below) and every message is read back through
 * getMessage (pull) and lookMessageByOffset (view by id). Oracle (reference T3 / G5):
 *   silent = 0      no read ever returns bytes that differ from what was stored;
 *   collateral = 0  only a record holding a flipped bit goes missing;
 *   no exception from open or any read.
 * detected = flipped records never served (found by recovery or by the read-path check).
 *
 * Reopen modes: 'clean' (checkpoint at the end: recovery reads nothing back, only the read path
 * can catch the flip), 'abnormal' (abort marker, checkpoint gone: recovery verifies the whole
 * log, quarantines or cuts), 'rebuild' (also consumequeue/ and index/ gone: rebuilt from the
 * damaged log).
 *
 * SEED=n replays; BITFLIP_MS bounds the run (default 15 s); BITFLIP_PER_BATCH flips per reopen.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { segmentFileName } from '../../src-main/broker/store/commit-log.js';
import { decodeMessage } from '../../src-main/broker/store/message-codec.js';
import { MessageStore, type MessageStoreConfig } from '../../src-main/broker/store/message-store.js';
import { tempDir } from '../harness/temp-dir.js';
import { flipBit, intIn, muteConsole, mulberry32, pullAll, seedFromEnv, workloadMessage } from './support.js';

const SEGMENT = 256 * 1024;
const TOPICS = ['FlipA', 'FlipB'];
const QUEUES = 4;
const MESSAGES = 2000;
const BUDGET_MS = Number(process.env.BITFLIP_MS ?? 15_000);
const PER_BATCH = Number(process.env.BITFLIP_PER_BATCH ?? 12);
/** The budget is time; under heavy load fewer flips fit, but never fewer than this (the run goes on). */
const MIN_FLIPS = Number(process.env.BITFLIP_MIN ?? 1000);

interface Stored {
  i: number;
  topic: string;
  queueId: number;
  queueOffset: number;
  offset: number;
  size: number;
  record: Buffer;
}

function config(storeDir: string): MessageStoreConfig {
  return {
    storeDir,
    storeHost: '127.0.0.1:10911',
    commitLogSegmentSize: SEGMENT,
    consumeQueueEntriesPerFile: 500,
    indexSlotNum: 1024,
    indexMaxEntries: 8000,
    flushIntervalMs: 3_600_000,
  };
}

function shmDir(): { path: string; remove(): void } {
  const p = fs.mkdtempSync('/dev/shm/mqdesk-bitflip-');
  return { path: p, remove: () => fs.rmSync(p, { recursive: true, force: true }) };
}

const physicalOffsetOf = (raw: Buffer): number => raw.readInt32BE(28) * 2 ** 32 + raw.readUInt32BE(32);

describe('bit flips across the commitlog', () => {
  it('never returns wrong data, loses only damaged records, never crashes', async () => {
    const seed = seedFromEnv();
    const rng = mulberry32(seed);
    // Thousands of reopens: on a RAM file system where there is one, so fsyncs cost nothing and
    // the flips, not the disk, set the pace.
    const tmp = fs.existsSync('/dev/shm') ? shmDir() : tempDir('bitflip');
    const unmute = muteConsole(); // every detection logs an error line; thousands of them
    try {
      // 1. A pristine store, closed cleanly.
      const pristine = path.join(tmp.path, 'pristine');
      const stored: Stored[] = [];
      {
        const store = new MessageStore(config(pristine));
        await store.open();
        const wl = mulberry32(seed ^ 0x5eed);
        for (let i = 0; i < MESSAGES; i += 50) {
          const batch = Array.from({ length: Math.min(50, MESSAGES - i) }, (_, k) => store.putMessage(workloadMessage(i + k, wl, TOPICS, QUEUES)));
          for (const r of await Promise.all(batch)) {
            expect(r.status).toBe('PUT_OK');
            const record = store.lookMessageByOffset(r.physicalOffset as number) as Buffer;
            const m = decodeMessage(record);
            stored.push({ i: stored.length, topic: m.topic, queueId: m.queueId, queueOffset: m.queueOffset, offset: m.commitLogOffset, size: record.length, record });
          }
        }
        await store.close();
      }
      const byOffset = new Map(stored.map((s) => [s.offset, s]));
      const sortedOffsets = stored.map((s) => s.offset).sort((a, b) => a - b);
      const segments = fs.readdirSync(path.join(pristine, 'commitlog')).sort().map((name) => ({ start: Number(name), size: fs.statSync(path.join(pristine, 'commitlog', name)).size }));
      const logBytes = segments.reduce((n, s) => n + s.size, 0);
      /** The record holding a log offset, or null (an end-of-segment blank). */
      const recordAt = (offset: number): Stored | null => {
        let lo = 0;
        let hi = sortedOffsets.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if ((sortedOffsets[mid] as number) <= offset) lo = mid;
          else hi = mid - 1;
        }
        const s = byOffset.get(sortedOffsets[lo] as number) as Stored;
        return offset >= s.offset && offset < s.offset + s.size ? s : null;
      };

      // 2. Batches of flips, each on a fresh copy.
      const totals = { batches: 0, flips: 0, flipsInBlanks: 0, damagedRecords: 0, detected: 0, detectedByRecovery: 0, detectedOnRead: 0, silent: 0, collateral: 0, exceptions: 0 };
      const modes = { clean: 0, abnormal: 0, rebuild: 0 };
      const work = path.join(tmp.path, 'work');
      const started = Date.now();
      while (Date.now() - started < BUDGET_MS || totals.flips < MIN_FLIPS) {
        fs.rmSync(work, { recursive: true, force: true });
        fs.cpSync(pristine, work, { recursive: true });
        const damaged = new Map<number, Stored>();
        for (let k = 0; k < PER_BATCH; k++) {
          let at = intIn(rng, 0, logBytes * 8 - 1);
          const byte = Math.floor(at / 8);
          const bit = at % 8;
          let seg = 0;
          at = byte;
          while (at >= (segments[seg] as { size: number }).size) at -= (segments[seg++] as { size: number }).size;
          const { start } = segments[seg] as { start: number };
          flipBit(path.join(work, 'commitlog', segmentFileName(start)), at, bit);
          totals.flips++;
          const rec = recordAt(start + at);
          if (rec) damaged.set(rec.offset, rec);
          else totals.flipsInBlanks++;
        }
        totals.damagedRecords += damaged.size;
        const mode = (['clean', 'abnormal', 'rebuild'] as const)[intIn(rng, 0, 2)] as keyof typeof modes;
        modes[mode]++;
        if (mode !== 'clean') {
          fs.rmSync(path.join(work, 'checkpoint'), { force: true });
          fs.writeFileSync(path.join(work, 'abort'), 'crashed');
        }
        if (mode === 'rebuild') {
          fs.rmSync(path.join(work, 'consumequeue'), { recursive: true, force: true });
          fs.rmSync(path.join(work, 'index'), { recursive: true, force: true });
        }

        const store = new MessageStore(config(work));
        try {
          const report = await store.open();
          const quarantined = [...report.commitLog.corruptRanges];
          if (report.commitLog.truncated) quarantined.push({ from: report.commitLog.truncated.from, to: Number.MAX_SAFE_INTEGER, reason: 'truncated' });
          const inRecovery = (offset: number): boolean => quarantined.some((r) => offset >= r.from && offset < r.to);

          const served = new Map<number, Buffer>();
          for (const topic of TOPICS) for (let q = 0; q < QUEUES; q++) for (const raw of pullAll(store, topic, q)) served.set(physicalOffsetOf(raw), raw);
          for (const s of stored) {
            const pulled = served.get(s.offset);
            served.delete(s.offset);
            const viewed = store.lookMessageByOffset(s.offset);
            const wrong = (pulled && !pulled.equals(s.record)) || (viewed && !viewed.equals(s.record));
            if (wrong) totals.silent++;
            const isDamaged = damaged.has(s.offset);
            if (isDamaged) {
              if (!pulled && !viewed) {
                totals.detected++;
                if (inRecovery(s.offset)) totals.detectedByRecovery++;
                else totals.detectedOnRead++;
              }
            } else if (!pulled || !viewed) {
              totals.collateral++;
            }
          }
          totals.silent += served.size; // served records that were never stored
        } catch (e) {
          totals.exceptions++;
          unmute();
          console.log(`exception in batch ${totals.batches} (seed ${seed}): ${(e as Error).stack}`);
          muteConsole();
        } finally {
          await store.close().catch(() => undefined);
        }
        totals.batches++;
      }
      unmute();
      console.log(`bit flips (seed ${seed}, SEED=${seed} replays; ${tmp.path.startsWith('/dev/shm') ? 'on /dev/shm' : 'on disk'}): ${MESSAGES} messages, ${(logBytes / 1024).toFixed(0)} KiB commitlog, ${totals.batches} reopens (${JSON.stringify(modes)}), ${totals.flips} single-bit flips`);
      console.log(`  damaged records ${totals.damagedRecords}, detected ${totals.detected} (by recovery ${totals.detectedByRecovery}, on read ${totals.detectedOnRead}), flips in end-of-segment blanks ${totals.flipsInBlanks}`);
      console.log(`  silent ${totals.silent}, collateral ${totals.collateral}, exceptions ${totals.exceptions}`);
      expect(totals.silent).toBe(0);
      expect(totals.collateral).toBe(0);
      expect(totals.exceptions).toBe(0);
      expect(totals.detected).toBe(totals.damagedRecords);
      expect(totals.flips).toBeGreaterThan(MIN_FLIPS);
    } finally {
      unmute();
      tmp.remove();
    }
  }, BUDGET_MS + 120_000);
});
