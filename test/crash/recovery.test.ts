/**
 * Recovery: a torn tail, a flipped byte in the middle (after and before the checkpoint), a
 * missing consumequeue/ and a deleted index/. Each recovers as described and the RecoveryReport
 * (or the corruption report, for damage recovery does not re-read) says what was done.
 *
 * A crash image is a copy of the store directory taken while the store is open, after its puts
 * were written (ASYNC: written = in the page cache, which a process crash keeps): it has the
 * abort marker and a checkpoint behind the end, exactly what a kill -9 leaves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { segmentFileName } from '../../src-main/broker/store/commit-log.js';
import { decodeMessage } from '../../src-main/broker/store/message-codec.js';
import { MessageStore, type MessageStoreConfig } from '../../src-main/broker/store/message-store.js';
import { tempDir } from '../harness/temp-dir.js';
import { flipBit, mulberry32, pullAll, workloadMessage } from './support.js';

const SEGMENT = 64 * 1024;
const TOPICS = ['RecA', 'RecB'];
const QUEUES = 4;
const N = 400;
const CHECKPOINT_AT = 250;

interface Stored {
  i: number;
  topic: string;
  queueId: number;
  queueOffset: number;
  offset: number;
  size: number;
  record: Buffer;
}

let dir: { path: string; remove(): void };
const opened: MessageStore[] = [];

beforeEach(() => {
  dir = tempDir('recovery');
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  dir.remove();
});

function config(storeDir: string): MessageStoreConfig {
  return {
    storeDir,
    storeHost: '127.0.0.1:10911',
    commitLogSegmentSize: SEGMENT,
    consumeQueueEntriesPerFile: 100,
    indexSlotNum: 512,
    indexMaxEntries: 2000,
    flushIntervalMs: 3_600_000, // no periodic flush: the checkpoint stays where the test put it
  };
}

async function open(storeDir: string): Promise<{ store: MessageStore; report: Awaited<ReturnType<MessageStore['open']>> }> {
  const store = new MessageStore(config(storeDir));
  const report = await store.open();
  opened.push(store);
  return { store, report };
}

async function close(store: MessageStore): Promise<void> {
  opened.splice(opened.indexOf(store), 1);
  await store.close();
}

/** N messages; a checkpoint after the first CHECKPOINT_AT; returns them and (crash) a copy taken before close. */
async function build(crashImage: boolean): Promise<{ stored: Stored[]; image: string }> {
  const rng = mulberry32(7);
  const { store } = await open(path.join(dir.path, 'live'));
  const stored: Stored[] = [];
  for (let i = 0; i < N; i++) {
    const r = await store.putMessage(workloadMessage(i, rng, TOPICS, QUEUES));
    expect(r.status).toBe('PUT_OK');
    const record = store.lookMessageByOffset(r.physicalOffset as number) as Buffer;
    const m = decodeMessage(record);
    stored.push({ i, topic: m.topic, queueId: m.queueId, queueOffset: m.queueOffset, offset: m.commitLogOffset, size: record.length, record });
    if (i === CHECKPOINT_AT - 1) await store.flush();
  }
  const image = path.join(dir.path, 'image');
  if (crashImage) fs.cpSync(path.join(dir.path, 'live'), image, { recursive: true });
  await close(store);
  if (!crashImage) fs.cpSync(path.join(dir.path, 'live'), image, { recursive: true });
  return { stored, image };
}

function segmentPath(image: string, offset: number): { file: string; pos: number } {
  const start = offset - (offset % SEGMENT);
  return { file: path.join(image, 'commitlog', segmentFileName(start)), pos: offset - start };
}

/** Every stored message read back through pulls: which are served intact, which are missing. */
function readBack(store: MessageStore, stored: Stored[]): { intact: number; missing: number[]; wrong: number } {
  const served = new Map<number, Buffer>();
  for (const topic of TOPICS) for (let q = 0; q < QUEUES; q++) for (const raw of pullAll(store, topic, q)) served.set(raw.readInt32BE(28) * 2 ** 32 + raw.readUInt32BE(32), raw);
  let intact = 0;
  let wrong = 0;
  const missing: number[] = [];
  for (const s of stored) {
    const got = served.get(s.offset);
    if (!got) missing.push(s.i);
    else if (got.equals(s.record)) intact++;
    else wrong++;
  }
  return { intact, missing, wrong: wrong + [...served.keys()].filter((o) => !stored.some((s) => s.offset === o)).length };
}

describe('recovery after a crash', () => {
  it('cuts a torn tail (last segment cut mid-message): only that message is lost, the next put takes its place', async () => {
    const { stored, image } = await build(true);
    const last = stored[stored.length - 1] as Stored;
    const { file, pos } = segmentPath(image, last.offset);
    const cut = Math.floor(last.size / 2);
    fs.truncateSync(file, pos + cut);

    const { store, report } = await open(image);
    console.log(`torn tail: ${JSON.stringify({ abnormal: report.abnormalShutdown, truncated: report.commitLog.truncated, scannedFrom: report.commitLog.scannedFrom, records: report.commitLog.records, cqEntriesDropped: report.consumeQueues.dirtyEntriesDropped })}`);
    expect(report.abnormalShutdown).toBe(true);
    expect(report.commitLog.truncated).toMatchObject({ from: last.offset, bytes: cut });
    expect(report.commitLog.truncated?.reason).toMatch(/torn/);
    expect(report.commitLog.corruptRanges).toEqual([]);
    expect(report.commitLog.endOffset).toBe(last.offset);
    expect(report.consumeQueues.dirtyEntriesDropped).toBe(1);
    const back = readBack(store, stored);
    expect(back).toEqual({ intact: N - 1, missing: [last.i], wrong: 0 });

    const again = await store.putMessage(workloadMessage(N, mulberry32(1), [last.topic], QUEUES));
    expect(again.physicalOffset).toBe(last.offset);
    await close(store);
    const reopened = await open(image);
    expect(reopened.report.abnormalShutdown).toBe(false);
    expect(reopened.report.commitLog.truncated).toBeUndefined();
    expect(reopened.report.commitLog.corruptRanges).toEqual([]);
  });

  it('quarantines flipped records after the checkpoint and keeps every good record after them', async () => {
    const { stored, image } = await build(true);
    const inBody = stored[CHECKPOINT_AT + 40] as Stored;
    const inHeader = stored[CHECKPOINT_AT + 90] as Stored;
    const a = segmentPath(image, inBody.offset);
    flipBit(a.file, a.pos + 88 + 10, 3); // a body byte
    const b = segmentPath(image, inHeader.offset);
    flipBit(b.file, b.pos + 15, 0); // queueId: a body-only CRC would not see it

    const { store, report } = await open(image);
    console.log(`flipped bytes after the checkpoint: ${JSON.stringify({ quarantined: report.commitLog.corruptRanges, truncated: report.commitLog.truncated ?? null })}`);
    expect(report.commitLog.truncated).toBeUndefined();
    expect(report.commitLog.corruptRanges).toEqual([
      { from: inBody.offset, to: inBody.offset + inBody.size, reason: 'record CRC mismatch' },
      { from: inHeader.offset, to: inHeader.offset + inHeader.size, reason: 'record CRC mismatch' },
    ]);
    expect(report.commitLog.endOffset).toBe(stored[N - 1]!.offset + stored[N - 1]!.size);
    const back = readBack(store, stored);
    expect(back).toEqual({ intact: N - 2, missing: [inBody.i, inHeader.i], wrong: 0 });
    expect(store.lookMessageByOffset(inBody.offset)).toBeNull();
    const corruption = store.corruptionReport();
    expect(corruption.recovery?.quarantined).toHaveLength(2);
    // Their consume-queue entries were written before the crash: pulls met them and skipped them.
    expect(corruption.reads.map((r) => r.offset).sort((x, y) => x - y)).toEqual([inBody.offset, inHeader.offset]);
  });

  it('catches a flipped byte below the checkpoint on read (recovery does not re-read it) and never serves it', async () => {
    const { stored, image } = await build(false);
    const victim = stored[100] as Stored;
    const { file, pos } = segmentPath(image, victim.offset);
    // The topic's first byte: RecA → RecC-like garbage a body CRC would never notice.
    const topicPos = 88 + victim.record.readInt32BE(84) + 1;
    flipBit(file, pos + topicPos, 1);

    const { store, report } = await open(image);
    expect(report.abnormalShutdown).toBe(false);
    expect(report.commitLog.corruptRanges).toEqual([]);
    const back = readBack(store, stored);
    expect(back).toEqual({ intact: N - 1, missing: [victim.i], wrong: 0 });
    const corruption = store.corruptionReport();
    console.log(`flipped byte below the checkpoint: ${JSON.stringify(corruption.reads)}`);
    expect(corruption.reads).toHaveLength(1);
    expect(corruption.reads[0]).toMatchObject({ offset: victim.offset, topic: victim.topic, queueId: victim.queueId, queueOffset: victim.queueOffset, reason: 'record CRC mismatch' });
    expect(store.stats().corruptRecordsSkipped).toBeGreaterThanOrEqual(1);
    expect(store.queryMessage(victim.topic, `key-${victim.i}`, 10, 0, Date.now() + 1000)).toEqual([]);
  });

  it('rebuilds a missing consumequeue directory from the commitlog', async () => {
    const { stored, image } = await build(false);
    fs.rmSync(path.join(image, 'consumequeue'), { recursive: true });
    const { store, report } = await open(image);
    console.log(`missing consumequeue/: ${JSON.stringify(report.consumeQueues)}`);
    expect(report.consumeQueues).toMatchObject({ fullRebuild: true, entriesAdded: N, queues: TOPICS.length * QUEUES, holes: 0 });
    expect(readBack(store, stored)).toEqual({ intact: N, missing: [], wrong: 0 });
    for (const s of stored) expect(store.getMessage(s.topic, s.queueId, s.queueOffset, 1).messages[0]?.equals(s.record)).toBe(true);
  });

  it('rebuilds a deleted index directory from the commitlog', async () => {
    const { stored, image } = await build(false);
    fs.rmSync(path.join(image, 'index'), { recursive: true });
    const { store, report } = await open(image);
    console.log(`deleted index/: ${JSON.stringify(report.index)}`);
    expect(report.index.fullRebuild).toBe(true);
    expect(report.index.files).toBeGreaterThan(0);
    for (const s of stored.filter((x) => x.i % 37 === 0)) {
      const found = store.queryMessage(s.topic, `key-${s.i}`, 4, 0, Date.now() + 1000);
      expect(found.map((r) => r.equals(s.record))).toEqual([true]);
    }
  });
});
