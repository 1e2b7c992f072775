import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommitLog, nodeFileOps, segmentFileName, type CommitLogFileOps } from '../../../../src-main/broker/store/commit-log.js';
import {
  BLANK_MAGIC_CODE,
  bodyCrc32,
  decodeMessage,
  encodeHost,
  storedMessageSize,
  type RecordInfo,
} from '../../../../src-main/broker/store/message-codec.js';

const SEGMENT = 64 * 1024;
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdesk-commitlog-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function openLog(fileOps?: CommitLogFileOps): { log: CommitLog; records: RecordInfo[]; report: ReturnType<CommitLog['recover']> } {
  const log = new CommitLog({ dir, segmentSize: SEGMENT, fileOps });
  log.load();
  const records: RecordInfo[] = [];
  const report = log.recover({ from: 0, checkCRC: true, onRecord: (r) => records.push(r) });
  return { log, records, report };
}

const storeHostBytes = encodeHost('127.0.0.1:10911');
const bornHostBytes = encodeHost('127.0.0.1:40000');

/** Appends one record (rolling when needed); returns its offset and size. */
function append(log: CommitLog, i: number, bodySize = 100): { offset: number; size: number } {
  const body = Buffer.alloc(bodySize, i % 256);
  const topicBytes = Buffer.from('TopicA');
  const properties = `TAGS\u0001T${i}\u0002`;
  const size = storedMessageSize(body.length, topicBytes.length, Buffer.byteLength(properties), 8, 8);
  if (log.roomFor(size) === 'ROLL') {
    expect(log.writePending().ok).toBe(true);
    expect(log.rollSegment()).toBeNull();
  }
  const offset = log.append(
    {
      topicBytes,
      queueId: 1,
      flag: 0,
      body,
      properties,
      sysFlag: 0,
      bornTimestamp: 1000 + i,
      bornHostBytes,
      storeTimestamp: 2000 + i,
      storeHostBytes,
      reconsumeTimes: 0,
      preparedTransactionOffset: 0,
      queueOffset: i,
      bodyCRC: bodyCrc32(body),
    },
    size,
  );
  return { offset, size };
}

describe('CommitLog', () => {
  it('appends, writes once per batch and reads records back by offset', () => {
    const { log } = openLog();
    const placed = Array.from({ length: 10 }, (_, i) => append(log, i));
    expect(placed[0]!.offset).toBe(0);
    expect(placed[1]!.offset).toBe(placed[0]!.size);
    // Readable before the write, from the pending buffer.
    expect(decodeMessage(log.readMessage(placed[3]!.offset)!).queueOffset).toBe(3);
    const outcome = log.writePending();
    expect(outcome).toEqual({ ok: true, bytes: placed.reduce((n, p) => n + p.size, 0) });
    expect(log.writtenOffset).toBe(log.maxOffset);
    for (let i = 0; i < 10; i++) {
      const m = decodeMessage(log.readMessage(placed[i]!.offset)!);
      expect(m).toMatchObject({ queueOffset: i, commitLogOffset: placed[i]!.offset, storeTimestamp: 2000 + i, topic: 'TopicA' });
      expect(log.readStoreTimestamp(placed[i]!.offset)).toBe(2000 + i);
    }
    expect(log.read(placed[2]!.offset, placed[2]!.size * 3)!.length).toBe(placed[2]!.size * 3);
    expect(log.readMessage(placed[0]!.offset + 1)).toBeNull();
    expect(log.readMessage(log.maxOffset)).toBeNull();
    expect(log.read(-1, 10)).toBeNull();
  });

  it('rolls to a new segment with an end-of-file blank when a record does not fit', () => {
    const { log } = openLog();
    const placed: { offset: number; size: number }[] = [];
    for (let i = 0; i < 1500; i++) placed.push(append(log, i, 200));
    log.writePending();
    const names = fs.readdirSync(path.join(dir)).sort();
    expect(names.length).toBeGreaterThan(3);
    expect(names[0]).toBe(segmentFileName(0));
    expect(names[1]).toBe(segmentFileName(SEGMENT));
    // No record spans a segment; each full segment ends with a blank covering its remainder.
    for (const p of placed) expect(Math.floor(p.offset / SEGMENT)).toBe(Math.floor((p.offset + p.size - 1) / SEGMENT));
    const first = fs.readFileSync(path.join(dir, names[0]!));
    const lastInFirst = placed.filter((p) => p.offset < SEGMENT).pop()!;
    const blankAt = lastInFirst.offset + lastInFirst.size;
    expect(first.length).toBe(blankAt + 8);
    expect(first.readInt32BE(blankAt)).toBe(SEGMENT - blankAt);
    expect(first.readInt32BE(blankAt + 4)).toBe(BLANK_MAGIC_CODE);
    const firstInSecond = placed.find((p) => p.offset >= SEGMENT)!;
    expect(firstInSecond.offset).toBe(SEGMENT);
    expect(log.readMessage(blankAt)).toBeNull();
  });

  it('finds every record again after a reopen', async () => {
    const { log } = openLog();
    for (let i = 0; i < 700; i++) append(log, i, 300);
    log.writePending();
    await log.flush();
    const end = log.maxOffset;
    await log.close();

    const again = openLog();
    expect(again.report.truncated).toBeUndefined();
    expect(again.report.corruptRanges).toEqual([]);
    expect(again.report.endOffset).toBe(end);
    expect(again.records.map((r) => r.queueOffset)).toEqual(Array.from({ length: 700 }, (_, i) => i));
    expect(again.log.maxOffset).toBe(end);
    const next = append(again.log, 700, 300);
    expect(next.offset).toBe(end);
    again.log.writePending();
    expect(decodeMessage(again.log.readMessage(end)!).queueOffset).toBe(700);
    await again.log.close();
  });

  it('recovers to the last whole record when the tail is torn', async () => {
    const { log } = openLog();
    const placed = Array.from({ length: 20 }, (_, i) => append(log, i));
    log.writePending();
    await log.close();
    const file = path.join(dir, segmentFileName(0));
    const whole = fs.readFileSync(file);
    fs.appendFileSync(file, whole.subarray(0, 60)); // half a record

    const again = openLog();
    expect(again.records).toHaveLength(20);
    expect(again.report.truncated).toMatchObject({ from: whole.length, bytes: 60 });
    expect(fs.statSync(file).size).toBe(whole.length);
    expect(again.log.maxOffset).toBe(placed[19]!.offset + placed[19]!.size);
    await again.log.close();
  });

  it('skips a damaged record in the middle and keeps the valid ones after it', async () => {
    const { log } = openLog();
    const placed = Array.from({ length: 20 }, (_, i) => append(log, i));
    log.writePending();
    await log.close();
    const file = path.join(dir, segmentFileName(0));
    const fd = fs.openSync(file, 'r+');
    const victim = placed[7]!;
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, victim.offset + 100); // inside the body: CRC breaks
    fs.closeSync(fd);

    const again = openLog();
    expect(again.report.corruptRanges).toEqual([{ from: victim.offset, to: victim.offset + victim.size, reason: 'body CRC mismatch' }]);
    expect(again.report.truncated).toBeUndefined();
    expect(again.records.map((r) => r.queueOffset)).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(again.log.maxOffset).toBe(placed[19]!.offset + placed[19]!.size);
    await again.log.close();
  });

  it('resynchronises past a destroyed header in an earlier segment', async () => {
    const { log } = openLog();
    const placed: { offset: number; size: number }[] = [];
    for (let i = 0; i < 400; i++) placed.push(append(log, i, 400));
    log.writePending();
    await log.close();
    const victim = placed[3]!;
    const fd = fs.openSync(path.join(dir, segmentFileName(0)), 'r+');
    fs.writeSync(fd, Buffer.alloc(16), 0, 16, victim.offset); // zero totalSize + magic + CRC
    fs.closeSync(fd);
    const again = openLog();
    expect(again.report.corruptRanges).toHaveLength(1);
    expect(again.report.corruptRanges[0]).toMatchObject({ from: victim.offset, to: victim.offset + victim.size });
    expect(again.records).toHaveLength(399);
    await again.log.close();
  });

  it('cuts a failed write back and keeps accepting records afterwards', async () => {
    let failNext = false;
    const ops: CommitLogFileOps = {
      writeSync: (fd, buffer, offset, length, position) => {
        if (failNext) {
          failNext = false;
          fs.writeSync(fd, buffer, offset, Math.floor(length / 2), position); // short write, then ENOSPC
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return nodeFileOps.writeSync(fd, buffer, offset, length, position);
      },
      fdatasync: nodeFileOps.fdatasync,
    };
    const { log } = openLog(ops);
    append(log, 0);
    log.writePending();
    const good = log.writtenOffset;
    append(log, 1);
    append(log, 2);
    failNext = true;
    const outcome = log.writePending();
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.droppedFrom).toBe(good);
      expect((outcome.error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    expect(log.maxOffset).toBe(good);
    expect(fs.statSync(path.join(dir, segmentFileName(0))).size).toBe(good);
    expect(log.failure).toBeNull();
    const next = append(log, 3);
    expect(next.offset).toBe(good);
    expect(log.writePending().ok).toBe(true);
    await log.close();
    const again = openLog();
    expect(again.records.map((r) => r.queueOffset)).toEqual([0, 3]);
    await again.log.close();
  });

  it('goes read-only after an fsync error', async () => {
    const ops: CommitLogFileOps = {
      writeSync: nodeFileOps.writeSync,
      fdatasync: () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
    };
    const { log } = openLog(ops);
    append(log, 0);
    log.writePending();
    await expect(log.flush()).rejects.toThrow(/read-only/);
    expect(log.failure).not.toBeNull();
    append(log, 1);
    expect(log.writePending().ok).toBe(false);
    await log.close();
  });

  it.skipIf(process.platform !== 'linux')('keeps a bounded number of segment descriptors open', async () => {
    const { log } = openLog();
    const placed: { offset: number; size: number }[] = [];
    for (let i = 0; i < 3000; i++) placed.push(append(log, i, 900));
    log.writePending();
    const segments = fs.readdirSync(dir).length;
    expect(segments).toBeGreaterThan(40);
    const before = fs.readdirSync('/proc/self/fd').length;
    for (const p of [...placed].reverse()) expect(log.readMessage(p.offset)).not.toBeNull();
    for (const p of placed) expect(log.readMessage(p.offset)).not.toBeNull();
    expect(fs.readdirSync('/proc/self/fd').length - before).toBeLessThanOrEqual(17);
    await log.close();
  });

  it('refuses records larger than a segment', () => {
    const { log } = openLog();
    expect(log.roomFor(SEGMENT)).toBe('TOO_LARGE');
    expect(log.roomFor(SEGMENT - 8)).toBe('OK');
  });

  it('rejects segment files that do not match the configured size', () => {
    fs.writeFileSync(path.join(dir, segmentFileName(1000)), '');
    const log = new CommitLog({ dir, segmentSize: SEGMENT });
    expect(() => log.load()).toThrow(/segment size/);
  });
});
