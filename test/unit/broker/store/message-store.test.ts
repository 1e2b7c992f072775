import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFileOps, segmentFileName, type CommitLogFileOps } from '../../../../src-main/broker/store/commit-log.js';
import { decodeMessage, decodeMessageId, decodeMessages, javaStringHashCode, MessageSysFlag } from '../../../../src-main/broker/store/message-codec.js';
import {
  MessageStore,
  type MessageStoreConfig,
  type MessageToStore,
  type RecoveryReport,
} from '../../../../src-main/broker/store/message-store.js';

const STORE_HOST = '127.0.0.1:10911';
let dir: string;
const open: MessageStore[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdesk-store-'));
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(overrides: Partial<MessageStoreConfig> = {}, storeDir = dir): Promise<{ store: MessageStore; report: RecoveryReport }> {
  const store = new MessageStore({ storeDir, storeHost: STORE_HOST, commitLogSegmentSize: 64 * 1024, consumeQueueEntriesPerFile: 100, ...overrides });
  const report = await store.open();
  open.push(store);
  return { store, report };
}

async function stop(store: MessageStore): Promise<void> {
  open.splice(open.indexOf(store), 1);
  await store.close();
}

function msg(i: number, overrides: Partial<MessageToStore> = {}): MessageToStore {
  return {
    topic: 'TopicA',
    queueId: 0,
    flag: 0,
    body: Buffer.from(`body-${i}`),
    properties: { TAGS: i % 2 === 0 ? 'TagA' : 'TagB', KEYS: `key-${i} shared`, UNIQ_KEY: `UNIQ-${i}` },
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000 + i,
    bornHost: '127.0.0.1:50000',
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    ...overrides,
  };
}

async function putMany(store: MessageStore, from: number, to: number, overrides: Partial<MessageToStore> = {}): Promise<void> {
  const results = await Promise.all(Array.from({ length: to - from }, (_, k) => store.putMessage(msg(from + k, overrides))));
  for (const r of results) expect(r.status).toBe('PUT_OK');
}

function bodies(buffers: Buffer[]): string[] {
  return decodeMessages(Buffer.concat(buffers)).map((m) => m.body.toString());
}

describe('MessageStore put and get', () => {
  it('assigns queue offsets, physical offsets and offset msgIds', async () => {
    const { store } = await start();
    const r0 = await store.putMessage(msg(0));
    const r1 = await store.putMessage(msg(1));
    expect(r0).toMatchObject({ status: 'PUT_OK', queueOffset: 0, physicalOffset: 0 });
    expect(r1).toMatchObject({ status: 'PUT_OK', queueOffset: 1, physicalOffset: r0.wroteBytes });
    expect(decodeMessageId(r1.msgId!)).toEqual({ address: STORE_HOST, offset: r0.wroteBytes });
    const raw = store.lookMessageByOffset(r1.physicalOffset!)!;
    const m = decodeMessage(raw);
    expect(m).toMatchObject({ topic: 'TopicA', queueOffset: 1, commitLogOffset: r1.physicalOffset, storeTimestamp: r1.storeTimestamp, msgId: r1.msgId, storeHost: STORE_HOST, bornHost: '127.0.0.1:50000' });
    expect(m.properties.UNIQ_KEY).toBe('UNIQ-1');
    expect(store.lookMessageByOffset(1)).toBeNull();
    expect(store.lookMessageByOffset(-5)).toBeNull();
  });

  it('answers the pull statuses of DefaultMessageStore#getMessage', async () => {
    const { store } = await start();
    expect(store.getMessage('TopicA', 0, 0, 32)).toMatchObject({ status: 'NO_MESSAGE_IN_QUEUE', nextBeginOffset: 0, minOffset: 0, maxOffset: 0 });
    await putMany(store, 0, 10);
    const found = store.getMessage('TopicA', 0, 0, 32);
    expect(found).toMatchObject({ status: 'FOUND', nextBeginOffset: 10, minOffset: 0, maxOffset: 10 });
    expect(bodies(found.messages)).toEqual(Array.from({ length: 10 }, (_, i) => `body-${i}`));
    expect(store.getMessage('TopicA', 0, 4, 3)).toMatchObject({ status: 'FOUND', nextBeginOffset: 7 });
    expect(store.getMessage('TopicA', 0, 10, 32)).toMatchObject({ status: 'OFFSET_OVERFLOW_ONE', nextBeginOffset: 10, messages: [] });
    expect(store.getMessage('TopicA', 0, 15, 32)).toMatchObject({ status: 'OFFSET_OVERFLOW_BADLY', nextBeginOffset: 0 });
    expect(store.getMessage('TopicA', 0, -1, 32)).toMatchObject({ status: 'OFFSET_TOO_SMALL', nextBeginOffset: 0 });
    expect(store.getMessage('TopicA', 1, 0, 32).status).toBe('NO_MESSAGE_IN_QUEUE');
  });

  it('answers OFFSET_TOO_SMALL and OFFSET_OVERFLOW_BADLY once the queue no longer starts at 0', async () => {
    const first = await start({ consumeQueueEntriesPerFile: 4 });
    await putMany(first.store, 0, 10);
    await stop(first.store);
    fs.rmSync(path.join(dir, 'consumequeue', 'TopicA', '0', '00000000000000000000')); // entries 0..3 expired
    const { store } = await start({ consumeQueueEntriesPerFile: 4 });
    expect([store.getMinOffset('TopicA', 0), store.getMaxOffset('TopicA', 0)]).toEqual([4, 10]);
    expect(store.getMessage('TopicA', 0, 1, 32)).toMatchObject({ status: 'OFFSET_TOO_SMALL', nextBeginOffset: 4, minOffset: 4 });
    expect(store.getMessage('TopicA', 0, 50, 32)).toMatchObject({ status: 'OFFSET_OVERFLOW_BADLY', nextBeginOffset: 10 });
    expect(bodies(store.getMessage('TopicA', 0, 4, 32).messages)[0]).toBe('body-4');
  });

  it('stops at maxMsgNums and at the byte budget, always returning at least one message', async () => {
    const { store } = await start();
    await putMany(store, 0, 20, { body: Buffer.alloc(1000, 1) });
    expect(store.getMessage('TopicA', 0, 0, 5).messages).toHaveLength(5);
    const limited = store.getMessage('TopicA', 0, 0, 32, undefined, 3500);
    expect(limited.messages).toHaveLength(3);
    expect(limited.nextBeginOffset).toBe(3);
    expect(store.getMessage('TopicA', 0, 0, 32, undefined, 10).messages).toHaveLength(1);
  });

  it('filters by tag code and reports NO_MATCHED_MESSAGE when nothing in the scanned range matches', async () => {
    const { store } = await start();
    await putMany(store, 0, 10);
    const tagA = javaStringHashCode('TagA');
    const onlyA = store.getMessage('TopicA', 0, 0, 32, (code) => code === tagA);
    expect(onlyA.status).toBe('FOUND');
    expect(bodies(onlyA.messages)).toEqual(['body-0', 'body-2', 'body-4', 'body-6', 'body-8']);
    const none = store.getMessage('TopicA', 0, 3, 32, (code) => code === javaStringHashCode('TagC'));
    expect(none).toMatchObject({ status: 'NO_MATCHED_MESSAGE', nextBeginOffset: 10, messages: [] });
  });

  it('uses a tagsCode override and the resolver for the consume-queue tag slot', async () => {
    const { store } = await start({ tagsCodeResolver: (topic, props, storeTs) => (topic === 'SCHEDULE_TOPIC_XXXX' ? storeTs + 1000 * Number(props.DELAY) : undefined) });
    const r = await store.putMessage(msg(0, { topic: 'SCHEDULE_TOPIC_XXXX', properties: { DELAY: '3' } }));
    await store.putMessage(msg(1, { topic: 'T2', tagsCode: 424242 }));
    const seen: number[] = [];
    store.getMessage('SCHEDULE_TOPIC_XXXX', 0, 0, 1, (code) => (seen.push(code), true));
    store.getMessage('T2', 0, 0, 1, (code) => (seen.push(code), true));
    expect(seen).toEqual([r.storeTimestamp! + 3000, 424242]);
  });

  it('stores a batch contiguously with consecutive queue offsets', async () => {
    const { store } = await start();
    await store.putMessage(msg(0));
    const r = await store.putMessages([msg(1), msg(2), msg(3)]);
    expect(r.status).toBe('PUT_OK');
    expect(r.queueOffset).toBe(1);
    expect(r.msgIds).toHaveLength(3);
    expect(r.msgId).toBe(r.msgIds!.join(','));
    const offsets = r.msgIds!.map((id) => decodeMessageId(id).offset);
    expect(offsets[0]).toBe(r.physicalOffset);
    const msgs = decodeMessages(Buffer.concat(store.getMessage('TopicA', 0, 1, 32).messages));
    expect(msgs.map((m) => [m.queueOffset, m.commitLogOffset])).toEqual([
      [1, offsets[0]],
      [2, offsets[1]],
      [3, offsets[2]],
    ]);
    expect(offsets[1]).toBe(offsets[0]! + msgs[0]!.storeSize);
    expect(r.wroteBytes).toBe(msgs.reduce((n, m) => n + m.storeSize, 0));
  });

  it('rejects illegal messages with a status, never by throwing', async () => {
    const { store } = await start({ maxMessageSize: 1024 });
    expect((await store.putMessage(msg(0, { body: Buffer.alloc(1025) }))).status).toBe('MESSAGE_ILLEGAL');
    expect((await store.putMessage(msg(0, { properties: { BIG: 'x'.repeat(40_000) } }))).status).toBe('PROPERTIES_SIZE_EXCEEDED');
    expect((await store.putMessage(msg(0, { topic: '../escape' }))).status).toBe('MESSAGE_ILLEGAL');
    expect((await store.putMessage(msg(0, { topic: 'x'.repeat(128) }))).status).toBe('MESSAGE_ILLEGAL');
    expect((await store.putMessage(msg(0, { queueId: -1 }))).status).toBe('MESSAGE_ILLEGAL');
    expect((await store.putMessages([msg(0), msg(1, { body: Buffer.alloc(2000) })])).status).toBe('MESSAGE_ILLEGAL');
    expect((await store.putMessages([])).status).toBe('MESSAGE_ILLEGAL');
    expect(store.getMaxOffset('TopicA', 0)).toBe(0);
    await stop(store);
    expect((await store.putMessage(msg(0))).status).toBe('SERVICE_NOT_AVAILABLE');
  });

  it('keeps half and rolled-back transaction records out of the consume queue', async () => {
    const { store } = await start();
    const prepared = await store.putMessage(msg(0, { sysFlag: MessageSysFlag.TRANSACTION_PREPARED_TYPE }));
    expect(prepared).toMatchObject({ status: 'PUT_OK', queueOffset: 0 });
    const normal = await store.putMessage(msg(1));
    expect(normal.queueOffset).toBe(0);
    expect(store.getMaxOffset('TopicA', 0)).toBe(1);
    expect(decodeMessage(store.lookMessageByOffset(prepared.physicalOffset!)!).body.toString()).toBe('body-0');
  });

  it('tells arrival listeners about each message once its entry is visible', async () => {
    const { store } = await start();
    const seen: [string, number, number, number, number][] = [];
    store.onMessageArrived((topic, queueId, queueOffset, tagsCode) => {
      seen.push([topic, queueId, queueOffset, tagsCode, store.getMaxOffset(topic, queueId)]);
    });
    await putMany(store, 0, 3, { queueId: 2 });
    expect(seen).toEqual([
      ['TopicA', 2, 0, javaStringHashCode('TagA'), 3],
      ['TopicA', 2, 1, javaStringHashCode('TagB'), 3],
      ['TopicA', 2, 2, javaStringHashCode('TagA'), 3],
    ]);
  });

  it('rolls commitlog segments and keeps reading across them', async () => {
    const { store } = await start();
    await putMany(store, 0, 300, { body: Buffer.alloc(700, 7) });
    expect(fs.readdirSync(path.join(dir, 'commitlog')).length).toBeGreaterThan(3);
    let offset = 0;
    let count = 0;
    while (offset < 300) {
      const r = store.getMessage('TopicA', 0, offset, 32);
      expect(r.status).toBe('FOUND');
      count += r.messages.length;
      offset = r.nextBeginOffset;
    }
    expect(count).toBe(300);
  });

  it('reports queues, times and stats', async () => {
    const { store } = await start();
    const r0 = await store.putMessage(msg(0));
    await putMany(store, 1, 4, { queueId: 3 });
    expect([...store.topicQueueIds()]).toEqual([['TopicA', [0, 3]]]);
    expect(store.getStoreTime('TopicA', 0, 0)).toBe(r0.storeTimestamp);
    expect(store.getStoreTime('TopicA', 0, 1)).toBe(-1);
    expect(store.getEarliestMessageTime('TopicA', 0)).toBe(r0.storeTimestamp);
    expect(store.getEarliestMessageTime('Nope', 0)).toBe(-1);
    const stats = store.stats();
    expect(stats).toMatchObject({ commitLogMinOffset: 0, messageCount: 4, dispatchBehindBytes: 0 });
    expect(stats.commitLogMaxOffset).toBeGreaterThan(0);
    expect(stats.diskUsedBytes).toBeGreaterThanOrEqual(stats.commitLogMaxOffset);
  });

  it('finds the first offset stored at or after a time', async () => {
    const { store } = await start();
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      times.push((await store.putMessage(msg(i))).storeTimestamp!);
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(store.getOffsetByTime('TopicA', 0, 0)).toBe(0);
    expect(store.getOffsetByTime('TopicA', 0, times[3]!)).toBe(3);
    expect(store.getOffsetByTime('TopicA', 0, times[3]! - 1)).toBe(3);
    expect(store.getOffsetByTime('TopicA', 0, times[5]! + 1)).toBe(6);
    expect(store.getOffsetByTime('Nope', 0, 0)).toBe(0);
  });
});

describe('MessageStore query by key', () => {
  it('finds messages by KEYS word and by UNIQ_KEY, newest first, re-checking topic and time', async () => {
    const { store } = await start();
    await putMany(store, 0, 10);
    await store.putMessage(msg(99, { topic: 'Other', properties: { KEYS: 'shared' } }));
    const now = Date.now();
    expect(bodies(store.queryMessage('TopicA', 'key-3', 32, 0, now + 1000))).toEqual(['body-3']);
    expect(bodies(store.queryMessage('TopicA', 'UNIQ-7', 32, 0, now + 1000))).toEqual(['body-7']);
    expect(bodies(store.queryMessage('TopicA', 'shared', 4, 0, now + 1000))).toEqual(['body-9', 'body-8', 'body-7', 'body-6']);
    expect(store.queryMessage('Other', 'shared', 32, 0, now + 1000)).toHaveLength(1);
    expect(store.queryMessage('TopicA', 'key-3', 32, now + 60_000, now + 120_000)).toEqual([]);
    expect(store.queryMessage('TopicA', 'missing', 32, 0, now + 1000)).toEqual([]);
  });
});

describe('MessageStore recovery', () => {
  it('keeps offsets across a clean reopen and continues after them', async () => {
    const first = await start();
    await putMany(first.store, 0, 50);
    await putMany(first.store, 0, 5, { queueId: 1 });
    const end = first.store.stats().commitLogMaxOffset;
    await stop(first.store);
    const { store, report } = await start();
    expect(report).toMatchObject({ abnormalShutdown: false, checkpoint: 'valid' });
    expect(report.commitLog).toMatchObject({ endOffset: end, records: 0 });
    expect(report.commitLog.truncated).toBeUndefined();
    expect([store.getMaxOffset('TopicA', 0), store.getMaxOffset('TopicA', 1)]).toEqual([50, 5]);
    expect((await store.putMessage(msg(50))).queueOffset).toBe(50);
    expect(bodies(store.getMessage('TopicA', 0, 48, 32).messages)).toEqual(['body-48', 'body-49', 'body-50']);
  });

  it('rebuilds consume queues from the commitlog when consumequeue/ is deleted', async () => {
    const first = await start();
    await putMany(first.store, 0, 30);
    await putMany(first.store, 0, 7, { topic: 'TopicB', queueId: 5 });
    await stop(first.store);
    fs.rmSync(path.join(dir, 'consumequeue'), { recursive: true });
    const { store, report } = await start();
    expect(report.consumeQueues).toMatchObject({ fullRebuild: true, entriesAdded: 37 });
    expect(store.getMaxOffset('TopicA', 0)).toBe(30);
    expect(store.getMaxOffset('TopicB', 5)).toBe(7);
    const tagA = javaStringHashCode('TagA');
    expect(bodies(store.getMessage('TopicB', 5, 0, 32, (c) => c === tagA).messages)).toEqual(['body-0', 'body-2', 'body-4', 'body-6']);
    expect((await store.putMessage(msg(7, { topic: 'TopicB', queueId: 5 }))).queueOffset).toBe(7);
  });

  it('rebuilds the index when index/ is deleted', async () => {
    const first = await start();
    await putMany(first.store, 0, 20);
    await stop(first.store);
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    const { store, report } = await start();
    expect(report.index.fullRebuild).toBe(true);
    expect(bodies(store.queryMessage('TopicA', 'UNIQ-13', 32, 0, Date.now() + 1000))).toEqual(['body-13']);
    expect(store.queryMessage('TopicA', 'shared', 100, 0, Date.now() + 1000)).toHaveLength(20);
  });

  it('truncates a torn half-record at the end of the last segment', async () => {
    const first = await start();
    await putMany(first.store, 0, 10);
    const end = first.store.stats().commitLogMaxOffset;
    const lastGood = first.store.lookMessageByOffset((await first.store.putMessage(msg(10))).physicalOffset!)!;
    await stop(first.store);
    const segments = fs.readdirSync(path.join(dir, 'commitlog')).sort();
    const last = path.join(dir, 'commitlog', segments[segments.length - 1]!);
    fs.appendFileSync(last, lastGood.subarray(0, Math.floor(lastGood.length / 2))); // a torn write
    const sizeWithGarbage = fs.statSync(last).size;

    const { store, report } = await start();
    const expectedEnd = end + lastGood.length;
    expect(report.commitLog.truncated).toMatchObject({ from: expectedEnd, bytes: Math.floor(lastGood.length / 2) });
    expect(fs.statSync(last).size).toBe(sizeWithGarbage - Math.floor(lastGood.length / 2));
    expect(store.stats().commitLogMaxOffset).toBe(expectedEnd);
    const r = await store.putMessage(msg(11));
    expect(r).toMatchObject({ status: 'PUT_OK', queueOffset: 11, physicalOffset: expectedEnd });
    expect(bodies(store.getMessage('TopicA', 0, 9, 32).messages)).toEqual(['body-9', 'body-10', 'body-11']);
  });

  it('recovers after a crash: unclean copy of the store directory, tail torn, queues and index rebuilt', async () => {
    const { store } = await start({ flushIntervalMs: 60_000 });
    await putMany(store, 0, 40);
    // What a kill -9 leaves: written files, abort marker, a stale checkpoint.
    const crashed = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdesk-store-crash-'));
    try {
      fs.cpSync(dir, crashed, { recursive: true });
      expect(fs.existsSync(path.join(crashed, 'abort'))).toBe(true);
      const segments = fs.readdirSync(path.join(crashed, 'commitlog')).sort();
      fs.appendFileSync(path.join(crashed, 'commitlog', segments[segments.length - 1]!), Buffer.from('dead beef, half a record'));
      const again = await start({}, crashed);
      expect(again.report.abnormalShutdown).toBe(true);
      expect(again.report.commitLog.truncated?.bytes).toBe(24);
      expect(again.store.getMaxOffset('TopicA', 0)).toBe(40);
      expect(bodies(again.store.getMessage('TopicA', 0, 38, 32).messages)).toEqual(['body-38', 'body-39']);
      expect(bodies(again.store.queryMessage('TopicA', 'key-39', 5, 0, Date.now() + 1000))).toEqual(['body-39']);
      await stop(again.store);
    } finally {
      fs.rmSync(crashed, { recursive: true, force: true });
    }
  });

  it('drops consume-queue entries that point past a truncated commitlog', async () => {
    const first = await start();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => first.store.putMessage(msg(i))));
    await stop(first.store);
    // Cut the commitlog in the middle of message 7: messages 7..9 are gone.
    const cut = results[7]!.physicalOffset! + 10;
    fs.truncateSync(path.join(dir, 'commitlog', segmentFileName(0)), cut);
    fs.rmSync(path.join(dir, 'checkpoint')); // unknown state: verify everything
    const { store, report } = await start();
    expect(report.checkpoint).toBe('no checkpoint');
    expect(report.commitLog.truncated).toMatchObject({ from: results[7]!.physicalOffset, bytes: 10 });
    expect(report.consumeQueues.dirtyEntriesDropped).toBe(3);
    expect(store.getMaxOffset('TopicA', 0)).toBe(7);
    expect((await store.putMessage(msg(70))).queueOffset).toBe(7);
  });

  it('treats a damaged checkpoint as absent and verifies the whole log', async () => {
    const first = await start();
    await putMany(first.store, 0, 12);
    await stop(first.store);
    const cpPath = path.join(dir, 'checkpoint');
    const cp = fs.readFileSync(cpPath);
    cp.writeUInt8(cp.readUInt8(20) ^ 0xff, 20);
    fs.writeFileSync(cpPath, cp);
    const { store, report } = await start();
    expect(report.checkpoint).toBe('checkpoint CRC mismatch');
    expect(report.commitLog).toMatchObject({ scannedFrom: 0, records: 12 });
    expect(report.consumeQueues).toMatchObject({ entriesAdded: 0, entriesRepaired: 0 });
    expect(store.getMaxOffset('TopicA', 0)).toBe(12);
  });

  it('rotates index files and finds keys across them after reopening', async () => {
    const first = await start({ indexMaxEntries: 16, indexSlotNum: 8 });
    await putMany(first.store, 0, 40);
    await stop(first.store);
    expect(fs.readdirSync(path.join(dir, 'index')).length).toBeGreaterThan(5);
    const { store } = await start({ indexMaxEntries: 16, indexSlotNum: 8 });
    const end = Date.now() + 1000;
    for (const i of [0, 17, 39]) {
      expect(bodies(store.queryMessage('TopicA', `key-${i}`, 32, 0, end))).toEqual([`body-${i}`]);
      expect(bodies(store.queryMessage('TopicA', `UNIQ-${i}`, 32, 0, end))).toEqual([`body-${i}`]);
    }
    expect(store.queryMessage('TopicA', 'shared', 100, 0, end)).toHaveLength(40);
  });

  it('does not bring a deleted topic back, even on a full rebuild', async () => {
    const first = await start();
    await putMany(first.store, 0, 5, { topic: 'Doomed' });
    first.store.deleteTopic('Doomed');
    expect(first.store.getMaxOffset('Doomed', 0)).toBe(0);
    expect(first.store.topicQueueIds().has('Doomed')).toBe(false);
    expect(fs.existsSync(path.join(dir, 'consumequeue', 'Doomed'))).toBe(false);
    const again = await first.store.putMessage(msg(100, { topic: 'Doomed' }));
    expect(again.queueOffset).toBe(0);
    await stop(first.store);
    fs.rmSync(path.join(dir, 'consumequeue'), { recursive: true });
    const { store } = await start();
    expect(store.getMaxOffset('Doomed', 0)).toBe(1);
    expect(bodies(store.getMessage('Doomed', 0, 0, 32).messages)).toEqual(['body-100']);
    expect(store.queryMessage('Doomed', 'key-1', 32, 0, Date.now() + 1000)).toEqual([]);
  });
});

describe('MessageStore flushing and failures', () => {
  it('answers SYNC puts after the covering fsync', async () => {
    let fsyncs = 0;
    const ops: CommitLogFileOps = { writeSync: nodeFileOps.writeSync, fdatasync: (fd) => (fsyncs++, nodeFileOps.fdatasync(fd)) };
    const { store } = await start({ flushMode: 'SYNC', commitLogFileOps: ops });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.putMessage(msg(i))));
    expect(results.every((r) => r.status === 'PUT_OK')).toBe(true);
    expect(fsyncs).toBeGreaterThan(0);
    expect(fsyncs).toBeLessThan(50); // group commit
  });

  it('answers FLUSH_DISK_TIMEOUT when the fsync fails, then refuses puts (read-only)', async () => {
    const ops: CommitLogFileOps = {
      writeSync: nodeFileOps.writeSync,
      fdatasync: () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
    };
    const { store } = await start({ flushMode: 'SYNC', commitLogFileOps: ops });
    const r = await store.putMessage(msg(0));
    expect(r.status).toBe('FLUSH_DISK_TIMEOUT');
    expect(r.error).toMatch(/EIO/);
    expect(store.lookMessageByOffset(r.physicalOffset!)).not.toBeNull();
    const refused = await store.putMessage(msg(1));
    expect(refused.status).toBe('SERVICE_NOT_AVAILABLE');
    expect(refused.error).toMatch(/read-only/);
  });

  it('fails exactly the puts of a failed write, gives back their offsets and leaves no half record', async () => {
    let failWrites = 0;
    const ops: CommitLogFileOps = {
      writeSync: (fd, buffer, offset, length, position) => {
        if (failWrites > 0) {
          failWrites--;
          fs.writeSync(fd, buffer, offset, Math.ceil(length / 3), position);
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return nodeFileOps.writeSync(fd, buffer, offset, length, position);
      },
      fdatasync: nodeFileOps.fdatasync,
    };
    const { store } = await start({ commitLogFileOps: ops });
    await putMany(store, 0, 3);
    const good = store.stats().commitLogMaxOffset;
    failWrites = 1;
    const failed = await Promise.all([store.putMessage(msg(3)), store.putMessage(msg(4))]);
    expect(failed.map((r) => r.status)).toEqual(['SERVICE_NOT_AVAILABLE', 'SERVICE_NOT_AVAILABLE']);
    expect(failed[0]!.error).toMatch(/ENOSPC/);
    expect(store.stats().commitLogMaxOffset).toBe(good);
    expect(fs.statSync(path.join(dir, 'commitlog', segmentFileName(0))).size).toBe(good);
    const r = await store.putMessage(msg(5));
    expect(r).toMatchObject({ status: 'PUT_OK', queueOffset: 3, physicalOffset: good });
    expect(bodies(store.getMessage('TopicA', 0, 0, 32).messages)).toEqual(['body-0', 'body-1', 'body-2', 'body-5']);
    await stop(store);
    const again = await start();
    expect(again.report.commitLog.truncated).toBeUndefined();
    expect(again.store.getMaxOffset('TopicA', 0)).toBe(4);
  });

  it('writes a checkpoint on flush and removes the abort marker on close', async () => {
    const { store } = await start();
    expect(fs.existsSync(path.join(dir, 'abort'))).toBe(true);
    await putMany(store, 0, 5);
    await store.flush();
    expect(fs.statSync(path.join(dir, 'checkpoint')).size).toBe(60);
    await stop(store);
    expect(fs.existsSync(path.join(dir, 'abort'))).toBe(false);
  });
});
