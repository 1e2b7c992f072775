/**
 * Consumer offsets and queue offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
 * GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32),
 * SEARCH_OFFSET_BY_TIMESTAMP (29), INVOKE_BROKER_TO_RESET_OFFSET (222), and persistence of
 * offsets, messages and consume queues across a cluster restart (reference §7.3, §7.6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { createRequest, type RemotingCommand } from '../../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { waitFor } from '../../harness/temp-dir.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import {
  PULL_FLAG, body, call, heartbeatBody, num, pull, queryConsumerOffset, send, sleep, startTestCluster, type TestCluster,
} from '../../harness/broker-protocol.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster('it-offsets');
});

afterAll(async () => {
  await t?.stop();
});

const update = (group: string, topic: string, queueId: number, commitOffset: number) =>
  call(t.client, t.brokerA, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId, commitOffset });

const maxOffset = async (topic: string, queueId: number, addr = t.brokerA): Promise<number> =>
  num(await call(t.client, addr, RequestCode.GET_MAX_OFFSET, { topic, queueId }), 'offset');

/** Sends `n` messages to one queue of broker-a, one after another. */
async function sendSeries(topic: string, queueId: number, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) await send(t.client, t.brokerA, { topic, queueId, body: `${prefix}${i}` });
}

describe('QUERY_CONSUMER_OFFSET / UPDATE_CONSUMER_OFFSET', () => {
  it('a fresh group reads offset 0 while the queue min offset is 0', async () => {
    const topic = 'OffsetsFresh';
    await sendSeries(topic, 0, 2, 'f');
    const q = await queryConsumerOffset(t.client, t.brokerA, 'CID_FRESH', topic, 0);
    expect(q.code).toBe(ResponseCode.SUCCESS);
    expect(q.extFields?.offset).toBe('0');
    // With setZeroIfNotFound=false the broker says it has no offset (22).
    const strict = await call(t.client, t.brokerA, RequestCode.QUERY_CONSUMER_OFFSET,
      { consumerGroup: 'CID_FRESH', topic, queueId: 0, setZeroIfNotFound: false });
    expect(strict.code).toBe(ResponseCode.QUERY_NOT_FOUND);
  });

  it('stores an updated offset per group, topic and queue', async () => {
    const topic = 'OffsetsUpdate';
    await sendSeries(topic, 0, 5, 'u');
    await sendSeries(topic, 1, 2, 'u');
    const res = await update('CID_UPD', topic, 0, 4);
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, 'CID_UPD', topic, 0), 'offset')).toBe(4);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, 'CID_UPD', topic, 1), 'offset')).toBe(0);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, 'CID_OTHER', topic, 0), 'offset')).toBe(0);
    await update('CID_UPD', topic, 0, 2);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, 'CID_UPD', topic, 0), 'offset')).toBe(2);
    // The other master knows nothing of it.
    const b = await call(t.client, t.brokerB, RequestCode.QUERY_CONSUMER_OFFSET,
      { consumerGroup: 'CID_UPD', topic, queueId: 0, setZeroIfNotFound: false });
    expect(b.code).toBe(ResponseCode.QUERY_NOT_FOUND);
  });

  it('refuses an update for an unknown topic and one with a missing field', async () => {
    const unknown = await update('CID_UPD', 'OffsetsNoSuchTopic', 0, 1);
    expect(unknown.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    const missing = await call(t.client, t.brokerA, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'G', topic: 'OffsetsUpdate', queueId: 0 });
    expect(missing.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(missing.remark).toContain('commitOffset');
  });
});

describe('queue offsets and time search', () => {
  it('GET_MAX_OFFSET, GET_MIN_OFFSET, GET_EARLIEST_MSG_STORETIME and SEARCH_OFFSET_BY_TIMESTAMP', async () => {
    const topic = 'OffsetsTime';
    expect(await maxOffset(topic, 0)).toBe(0);
    const startedAt = Date.now();
    await sendSeries(topic, 0, 3, 'first');
    await sleep(60);
    const between = Date.now();
    await sleep(60);
    await sendSeries(topic, 0, 4, 'second');
    await sleep(5);
    const after = Date.now() + 5;

    expect(await maxOffset(topic, 0)).toBe(7);
    expect(num(await call(t.client, t.brokerA, RequestCode.GET_MIN_OFFSET, { topic, queueId: 0 }), 'offset')).toBe(0);

    const all = await pull(t.client, t.brokerA, { topic, queueOffset: 0 });
    expect(all.messages).toHaveLength(7);
    const firstStore = all.messages[0]!.storeTimestamp;
    expect(firstStore).toBeGreaterThanOrEqual(startedAt);
    const earliest = await call(t.client, t.brokerA, RequestCode.GET_EARLIEST_MSG_STORETIME, { topic, queueId: 0 });
    expect(earliest.code).toBe(ResponseCode.SUCCESS);
    expect(num(earliest, 'timestamp')).toBe(firstStore);

    const search = (timestamp: number) => call(t.client, t.brokerA, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic, queueId: 0, timestamp });
    expect(num(await search(between), 'offset')).toBe(3);
    expect(num(await search(0), 'offset')).toBe(0);
    expect(num(await search(firstStore), 'offset')).toBe(0);
    expect(num(await search(all.messages[3]!.storeTimestamp), 'offset')).toBe(3);
    expect(num(await search(after), 'offset')).toBe(7);
  });

  it('queues of an unknown topic read as empty', async () => {
    expect(await maxOffset('OffsetsNobody', 0)).toBe(0);
    const min = await call(t.client, t.brokerA, RequestCode.GET_MIN_OFFSET, { topic: 'OffsetsNobody', queueId: 0 });
    expect(num(min, 'offset')).toBe(0);
    const missing = await call(t.client, t.brokerA, RequestCode.GET_MAX_OFFSET, { topic: 'OffsetsNobody' });
    expect(missing.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(missing.remark).toContain('queueId');
  });
});

describe('INVOKE_BROKER_TO_RESET_OFFSET (222)', () => {
  it('moves committed offsets back to a timestamp; the next pull answers 21 with the reset offset', async () => {
    const topic = 'OffsetsReset';
    const group = 'CID_RESET';
    const create = await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: 2, writeQueueNums: 2, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
    });
    expect(create.code).toBe(ResponseCode.SUCCESS);
    await sendSeries(topic, 0, 3, 'a');
    await sendSeries(topic, 1, 1, 'a');
    await sleep(60);
    const between = Date.now();
    await sleep(60);
    await sendSeries(topic, 0, 2, 'b');
    await sendSeries(topic, 1, 2, 'b');

    // The consumer has consumed everything (pull commit creates the group too).
    const caughtUp0 = await pull(t.client, t.brokerA, {
      topic, queueId: 0, queueOffset: 5, group, commitOffset: 5, sysFlag: PULL_FLAG.COMMIT_OFFSET | PULL_FLAG.SUBSCRIPTION,
    });
    expect(caughtUp0.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expect((await update(group, topic, 1, 3)).code).toBe(ResponseCode.SUCCESS);

    const res = await call(t.client, t.brokerA, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: between, isForce: true });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const text = res.body!.toString();
    expect(text).toContain(`{"brokerName":"broker-a","queueId":0,"topic":"${topic}"}:3`);
    const table = body<{ offsetTable: Record<string, number> }>(res).offsetTable;
    expect(table).toEqual({ [`${topic}|broker-a|0`]: 3, [`${topic}|broker-a|1`]: 1 });

    expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 0), 'offset')).toBe(3);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 1), 'offset')).toBe(1);

    // The consumer still pulls from where it was: the broker tells it to move.
    const moved = await pull(t.client, t.brokerA, { topic, queueId: 0, queueOffset: 5, group });
    expect(moved.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expect(moved.nextBeginOffset).toBe(3);
    const again = await pull(t.client, t.brokerA, { topic, queueId: 0, queueOffset: moved.nextBeginOffset, group });
    expect(again.code).toBe(ResponseCode.SUCCESS);
    expect(again.messages.map((m) => m.body.toString())).toEqual(['b0', 'b1']);
    const moved1 = await pull(t.client, t.brokerA, { topic, queueId: 1, queueOffset: 3, group });
    expect(moved1.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expect(moved1.nextBeginOffset).toBe(1);

    // Another group is not affected.
    const other = await pull(t.client, t.brokerA, { topic, queueId: 0, queueOffset: 5, group: 'CID_RESET_OTHER' });
    expect(other.code).toBe(ResponseCode.PULL_NOT_FOUND);
  });

  it('isForce=false only moves offsets backwards; timestamp -1 means the max offset', async () => {
    const topic = 'OffsetsResetNoForce';
    const group = 'CID_RESET_NF';
    await sendSeries(topic, 0, 2, 'x');
    await sleep(60);
    const between = Date.now();
    await sleep(60);
    await sendSeries(topic, 0, 2, 'y');
    await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined, Buffer.from(JSON.stringify({ groupName: group })));
    await update(group, topic, 0, 1);
    const res = await call(t.client, t.brokerA, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: between, isForce: false });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 0), 'offset')).toBe(1);

    const toMax = await call(t.client, t.brokerA, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: -1, isForce: true });
    expect(toMax.code).toBe(ResponseCode.SUCCESS);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 0), 'offset')).toBe(4);
  });

  it('sends RESET_CONSUMER_CLIENT_OFFSET (220) oneway to each online consumer of the group', async () => {
    const topic = 'OffsetsResetNotify';
    const group = 'CID_RESET_NOTIFY';
    await sendSeries(topic, 0, 3, 'n');
    const consumer = new RemotingClient();
    const got: RemotingCommand[] = [];
    consumer.registerProcessor(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, (req) => {
      got.push(req);
      return null;
    });
    try {
      const hb = await consumer.invoke(t.brokerA, createRequest(RequestCode.HEART_BEAT, undefined,
        heartbeatBody('127.0.0.1@reset', [{ groupName: group, subscriptions: [{ topic }] }])));
      expect(hb.code).toBe(ResponseCode.SUCCESS);
      await update(group, topic, 0, 3);
      const res = await call(t.client, t.brokerA, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: 0, isForce: true });
      expect(res.code).toBe(ResponseCode.SUCCESS);
      await waitFor(() => got.length > 0, 3000, 'RESET_CONSUMER_CLIENT_OFFSET');
      const n = got[0]!;
      expect(n.flag & 2).toBe(2);
      expect(n.extFields).toEqual({ topic, group, timestamp: '0' });
      expect(n.body!.toString()).toBe(res.body!.toString());
      expect(body<{ offsetTable: Record<string, number> }>(n).offsetTable[`${topic}|broker-a|0`]).toBe(0);
      expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 0), 'offset')).toBe(0);
    } finally {
      consumer.close();
    }
  });

  it('refuses an unknown topic (17) and an unknown group (26)', async () => {
    const noTopic = await call(t.client, t.brokerA, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET,
      { topic: 'OffsetsResetNoTopic', group: 'CID_RESET', timestamp: 0, isForce: true });
    expect(noTopic.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    await send(t.client, t.brokerA, { topic: 'OffsetsResetNoGroup', queueId: 0 });
    const noGroup = await call(t.client, t.brokerA, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET,
      { topic: 'OffsetsResetNoGroup', group: 'CID_NEVER_SEEN', timestamp: 0, isForce: true });
    expect(noGroup.code).toBe(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST);
  });
});

describe('persistence across a cluster restart', () => {
  it('keeps committed offsets, messages, consume-queue offsets, topic and group configs, and topic deletions', async () => {
    const topic = 'OffsetsPersist';
    const group = 'CID_PERSIST';
    for (let i = 0; i < 4; i++) await send(t.client, t.brokerA, { topic, queueId: 0, body: `a${i}`, tags: 'T' });
    for (let i = 0; i < 3; i++) await send(t.client, t.brokerA, { topic, queueId: 1, body: `b${i}` });
    for (let i = 0; i < 2; i++) await send(t.client, t.brokerB, { topic, queueId: 0, body: `c${i}` });
    await update(group, topic, 0, 3);
    await update(group, topic, 1, 1);
    const commitB = await call(t.client, t.brokerB, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: 0, commitOffset: 2 });
    expect(commitB.code).toBe(ResponseCode.SUCCESS);
    const beforeA = (await pull(t.client, t.brokerA, { topic, queueOffset: 0 })).messages;
    const oldA = t.brokerA;
    // A subscription group made by an admin, and a topic deleted before the stop.
    const group2 = await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined,
      Buffer.from(JSON.stringify({ groupName: 'CID_PERSIST_ADMIN', retryMaxTimes: 3 })));
    expect(group2.code).toBe(ResponseCode.SUCCESS);
    for (let i = 0; i < 2; i++) await send(t.client, t.brokerA, { topic: 'OffsetsPersistDeleted', queueId: 0, keys: 'gone' });
    expect((await call(t.client, t.brokerA, RequestCode.DELETE_TOPIC_IN_BROKER, { topic: 'OffsetsPersistDeleted' })).code).toBe(ResponseCode.SUCCESS);

    await t.restart();
    expect(t.brokerA).not.toBe('');

    expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 0), 'offset')).toBe(3);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 1), 'offset')).toBe(1);
    expect(num(await queryConsumerOffset(t.client, t.brokerB, group, topic, 0), 'offset')).toBe(2);
    expect(await maxOffset(topic, 0)).toBe(4);
    expect(await maxOffset(topic, 1)).toBe(3);
    expect(await maxOffset(topic, 0, t.brokerB)).toBe(2);

    const afterA = (await pull(t.client, t.brokerA, { topic, queueOffset: 0 })).messages;
    expect(afterA.map((m) => [m.queueOffset, m.body.toString(), m.commitLogOffset, m.msgId, m.storeHost]))
      .toEqual(beforeA.map((m) => [m.queueOffset, m.body.toString(), m.commitLogOffset, m.msgId, oldA]));
    const fromCommitted = await pull(t.client, t.brokerA, { topic, queueId: 1, queueOffset: 1 });
    expect(fromCommitted.messages.map((m) => m.body.toString())).toEqual(['b1', 'b2']);

    // New sends continue the queue offsets.
    const next = await send(t.client, t.brokerA, { topic, queueId: 0, body: 'a4' });
    expect(next.queueOffset).toBe(4);
    const topics = body<{ topicConfigTable: Record<string, unknown> }>(await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(topics.topicConfigTable[topic]).toBeDefined();
    const groups = body<{ subscriptionGroupTable: Record<string, { retryMaxTimes: number }> }>(
      await call(t.client, t.brokerA, RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
    expect(groups.subscriptionGroupTable.CID_PERSIST_ADMIN?.retryMaxTimes).toBe(3);
    // The deleted topic stays deleted: its old records are not dispatched again by recovery.
    expect(topics.topicConfigTable.OffsetsPersistDeleted).toBeUndefined();
    expect(await maxOffset('OffsetsPersistDeleted', 0)).toBe(0);
    const reborn = await send(t.client, t.brokerA, { topic: 'OffsetsPersistDeleted', queueId: 0, body: 'new life' });
    expect(reborn.queueOffset).toBe(0);
    const query = await call(t.client, t.brokerA, RequestCode.QUERY_MESSAGE,
      { topic: 'OffsetsPersistDeleted', key: 'gone', maxNum: 32, beginTimestamp: 0, endTimestamp: Date.now() + 1000 });
    expect(query.code).toBe(ResponseCode.QUERY_NOT_FOUND);

    const search = await call(t.client, t.brokerA, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic, queueId: 0, timestamp: afterA[2]!.storeTimestamp });
    // Messages sent back to back may share a millisecond: the answer is the first stored at or after it.
    expect(num(search, 'offset')).toBe(afterA.findIndex((m) => m.storeTimestamp >= afterA[2]!.storeTimestamp));
  });
});
