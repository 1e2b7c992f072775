/**
 * Retries and dead letters (reference §7.5, §11.1): CONSUMER_SEND_MSG_BACK (36) from the real
 * ali-ons client puts a failed message into %RETRY%<group> behind the delay level for its
 * reconsume count, and into %DLQ%<group> once it has been retried maxReconsumeTimes times, keeping
 * its unique id, keys, body and origin so it is found by id and key in both topics. Edge cases of
 * the request over raw protocol. Delay levels are shortened (brokerOverrides.delayLevelsMs) so the
 * retries take a few seconds.
 */
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { createRequest, type HeaderValues, type RemotingCommand } from '../../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { parseFastjson } from '../../../src-main/remoting/fastjson.js';
import {
  decodeMessageId, decodeMessages, encodeProperties, type MessageExt,
} from '../../../src-main/broker/store/message-codec.js';
import { tempDir, waitFor } from '../../harness/temp-dir.js';
import {
  createMessage, trackClients, type OnsMessage,
} from '../../harness/ali-ons.js';

const requireCjs = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ACTION_RETRY = (requireCjs('ali-ons') as { Consumer: { ACTION_RETRY: symbol } }).Consumer.ACTION_RETRY;

/** 18 short levels; retries use level 3 + reconsumeTimes: 400, 700, 1000 ms for the first three. */
const SHORT_LEVELS = [100, 200, 400, 700, 1000, 1300, 1600, 1900, 2200, 2500, 2800, 3100, 3400, 3700, 4000, 4300, 4600, 4900];
const MAX_RECONSUME = 3;

const clients = trackClients({ withDefaultProducer: true });

const dir = tempDir('semantics-retry');
let cluster: EmbeddedCluster;
let client: RemotingClient;

const masterAddr = (brokerName: string): string => cluster.broker(brokerName)!.address;
const masters = (): string[] => ['broker-a', 'broker-b'].map(masterAddr);

function call(addr: string, code: number, header?: HeaderValues, body?: Buffer, version?: number): Promise<RemotingCommand> {
  const req = createRequest(code, header, body);
  if (version !== undefined) req.version = version;
  return client.invoke(addr, req, 5000);
}

async function maxOffset(addr: string, topic: string, queueId = 0): Promise<number> {
  const res = await call(addr, RequestCode.GET_MAX_OFFSET, { topic, queueId });
  return Number(res.extFields?.offset ?? 0);
}

async function createGroup(groupName: string, config: Record<string, unknown> = {}): Promise<void> {
  for (const addr of masters()) {
    const res = await call(addr, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined,
      Buffer.from(JSON.stringify({ groupName, consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 16, ...config })));
    expect(res.code).toBe(ResponseCode.SUCCESS);
  }
}

async function createTopic(topic: string, queues: number): Promise<void> {
  for (const addr of masters()) {
    const res = await call(addr, RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: queues, writeQueueNums: queues, perm: 6, topicFilterType: 'SINGLE_TAG',
      topicSysFlag: 0, order: false,
    });
    expect(res.code).toBe(ResponseCode.SUCCESS);
  }
}

async function query(addr: string, topic: string, key: string, unique: boolean): Promise<MessageExt[]> {
  const res = await call(addr, RequestCode.QUERY_MESSAGE, {
    topic, key, maxNum: 32, beginTimestamp: 0, endTimestamp: Date.now() + 60_000, ...(unique ? { _UNIQUE_KEY_QUERY: 'true' } : {}),
  });
  if (res.code === ResponseCode.QUERY_NOT_FOUND) return [];
  expect(res.code).toBe(ResponseCode.SUCCESS);
  return decodeMessages(res.body ?? Buffer.alloc(0)).sort((a, b) => a.reconsumeTimes - b.reconsumeTimes);
}

/** A UNIQ_KEY shaped like MessageClientIDSetter's (32 upper-case hex digits). */
function uniqKey(): string {
  return [...Array(32)].map(() => '0123456789ABCDEF'[Math.floor(Math.random() * 16)]).join('');
}

async function sendRaw(addr: string, topic: string, body: string, properties: Record<string, string>): Promise<{ msgId: string; offset: number }> {
  const res = await call(addr, RequestCode.SEND_MESSAGE_V2, {
    a: 'PID_RAW_RETRY', b: topic, c: 'TBW102', d: 4, e: 0, f: 0, g: Date.now(), h: 0, i: encodeProperties(properties),
  }, Buffer.from(body));
  expect(res.code).toBe(ResponseCode.SUCCESS);
  const msgId = res.extFields!.msgId!;
  return { msgId, offset: decodeMessageId(msgId).offset };
}

function sendBack(addr: string, header: Record<string, string | number | boolean>, version?: number): Promise<RemotingCommand> {
  return call(addr, RequestCode.CONSUMER_SEND_MSG_BACK, { unitMode: false, ...header }, undefined, version);
}

beforeAll(async () => {
  cluster = await startCluster({
    dataDir: dir.path,
    namesrvPort: 0,
    // Groups must be created first, so SUBSCRIPTION_GROUP_NOT_EXIST can be shown.
    brokerOverrides: { delayLevelsMs: SHORT_LEVELS, autoCreateSubscriptionGroup: false },
  });
  client = new RemotingClient({ defaultTimeoutMs: 5000 });
});

afterEach(() => clients.closeAll());

afterAll(async () => {
  client?.close();
  await cluster?.stop();
  dir.remove();
});

interface Attempt {
  at: number;
  reconsumeTimes: number;
  topic: string;
  body: string;
  keys: string;
  tags: string;
  originMessageId: string | undefined;
  uniqKey: string | undefined;
}

describe('a consumer that always fails (ali-ons: ACTION_RETRY, then throws; CONSUMER_SEND_MSG_BACK with delayLevel 0)', () => {
  it(`is redelivered with increasing delays and lands in %DLQ% after exactly ${MAX_RECONSUME} retries`, async () => {
    const topic = 'RetryAlwaysFails';
    const group = 'GID_ALWAYS_FAILS';
    await createTopic(topic, 2);
    await createGroup(group);

    const attempts: Attempt[] = [];
    const consumer = clients.createConsumer(cluster.namesrvAddr, group, 'retry-c1', {
      maxReconsumeTimes: MAX_RECONSUME,
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
      rebalanceInterval: 1000,
      pollNameServerInteval: 1000,
    });
    const errors: string[] = [];
    consumer.on('error', (e: Error) => errors.push(e.message));
    consumer.subscribe(topic, '*', async (msg: OnsMessage) => {
      attempts.push({
        at: Date.now(),
        reconsumeTimes: msg.reconsumeTimes,
        topic: msg.topic,
        body: msg.body.toString(),
        keys: String(msg.keys),
        tags: msg.tags,
        originMessageId: msg.properties.ORIGIN_MESSAGE_ID,
        uniqKey: msg.properties.UNIQ_KEY,
      });
      // ali-ons honours ACTION_RETRY only on the first delivery (its retry-topic wrapper drops the
      // return value); a throw fails every delivery.
      if (msg.reconsumeTimes === 0) return ACTION_RETRY;
      throw new Error(`failing attempt ${attempts.length}`);
    });
    await consumer.ready();
    // The retry queues must be pulled before the first retry is due, or its delay would read long.
    const table = (consumer as unknown as { _processQueueTable: Map<string, unknown> })._processQueueTable;
    await waitFor(() => [...table.keys()].filter((k) => k.includes(`%RETRY%${group}`)).length === 2
      && [...table.keys()].filter((k) => k.includes(`"${topic}"`)).length === 4, 20_000, 'consumer pulling topic and retry queues');

    const producer = clients.createProducer(cluster.namesrvAddr, 'PID_ALWAYS_FAILS', 'retry-p1');
    await producer.ready();
    const uniq = uniqKey();
    const msg = createMessage(topic, 'TagRetry', 'always-fails-body', ['order-42', 'customer-7']);
    msg.properties.UNIQ_KEY = uniq;
    const sent = await producer.send(msg);
    expect(sent.sendStatus).toBe('SEND_OK');
    const addr = masterAddr(sent.messageQueue.brokerName);
    const dlq = `%DLQ%${group}`;

    await waitFor(async () => attempts.length >= MAX_RECONSUME + 1 && await maxOffset(addr, dlq) === 1, 30_000,
      `${MAX_RECONSUME + 1} attempts and a DLQ entry (have ${attempts.length})`);
    // Nothing further arrives: the longest retry delay in play is 1 s.
    await new Promise((r) => setTimeout(r, 2500));

    // Exactly the first delivery plus MAX_RECONSUME retries, in reconsume order.
    expect(attempts.map((a) => a.reconsumeTimes)).toEqual([0, 1, 2, 3]);
    expect(errors.filter((e) => !e.includes('failing attempt'))).toEqual([]);
    for (const a of attempts) {
      expect(a).toMatchObject({ topic, body: 'always-fails-body', keys: 'order-42 customer-7', tags: 'TagRetry', uniqKey: uniq });
    }
    expect(attempts[0]!.originMessageId).toBeUndefined();
    for (const a of attempts.slice(1)) expect(a.originMessageId).toBe(uniq);

    // Retry n waits level 3 + n: 400, 700, 1000 ms. Never early, late by little, increasing.
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    const expected = [SHORT_LEVELS[2]!, SHORT_LEVELS[3]!, SHORT_LEVELS[4]!];
    console.log(`retry gaps ${JSON.stringify(gaps)} ms for level delays ${JSON.stringify(expected)} ms; lateness ${JSON.stringify(gaps.map((g, i) => g - expected[i]!))} ms`);
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(expected[i]!);
      expect(g).toBeLessThan(expected[i]! + 1000);
    });
    expect(gaps[0]!).toBeLessThan(gaps[1]!);
    expect(gaps[1]!).toBeLessThan(gaps[2]!);

    // The DLQ holds one copy, found by its unique id and by each key, with its origin.
    const [dead, ...more] = await query(addr, dlq, uniq, true);
    expect(more).toEqual([]);
    expect(dead!.topic).toBe(dlq);
    expect(dead!.body.toString()).toBe('always-fails-body');
    expect(dead!.reconsumeTimes).toBe(MAX_RECONSUME + 1);
    expect(dead!.properties).toMatchObject({
      UNIQ_KEY: uniq, ORIGIN_MESSAGE_ID: uniq, RETRY_TOPIC: topic, KEYS: 'order-42 customer-7', TAGS: 'TagRetry',
      DLQ_ORIGIN_TOPIC: topic, DLQ_ORIGIN_MESSAGE_ID: uniq,
    });
    expect(dead!.properties.DELAY).toBeUndefined();
    expect(dead!.properties.REAL_TOPIC).toBeUndefined();
    expect((await query(addr, dlq, 'order-42', false)).map((m) => m.properties.UNIQ_KEY)).toEqual([uniq]);
    expect((await query(addr, dlq, 'customer-7', false)).map((m) => m.properties.UNIQ_KEY)).toEqual([uniq]);

    // The original and its three retry copies are found by the same id.
    const [original] = await query(addr, topic, uniq, true);
    expect(original!.reconsumeTimes).toBe(0);
    expect(dead!.bornTimestamp).toBe(original!.bornTimestamp);
    expect(dead!.bornHost).toBe(original!.bornHost);
    const retries = await query(addr, `%RETRY%${group}`, uniq, true);
    expect(retries.map((m) => m.reconsumeTimes)).toEqual([1, 2, 3]);
    expect(retries.map((m) => m.properties.ORIGIN_MESSAGE_ID)).toEqual([uniq, uniq, uniq]);
    expect(retries.every((m) => m.properties.DELAY === undefined && m.properties.REAL_TOPIC === undefined)).toBe(true);
    expect((await query(addr, `%RETRY%${group}`, 'order-42', false))).toHaveLength(3);

    // Each retry went through its delay level's queue; the scheduler's offsets show it.
    const res = await call(addr, RequestCode.GET_ALL_DELAY_OFFSET);
    const offsets = parseFastjson(res.body!.toString()) as { offsetTable: Record<string, number> };
    expect(Object.keys(offsets.offsetTable)).toHaveLength(18);
    expect([offsets.offsetTable['3'], offsets.offsetTable['4'], offsets.offsetTable['5']]).toEqual([1, 1, 1]);
    await Promise.all([consumer.close(), producer.close()]);
  }, 60_000);
});

describe('CONSUMER_SEND_MSG_BACK (36) over raw protocol', () => {
  const topic = 'RetryRaw';

  beforeAll(async () => {
    await createTopic(topic, 1);
    await createGroup('GID_RAW', { retryMaxTimes: 1 });
  });

  it('an unknown group is SUBSCRIPTION_GROUP_NOT_EXIST (26) when groups are not auto-created', async () => {
    const { offset } = await sendRaw(masterAddr('broker-a'), topic, 'x', {});
    const res = await sendBack(masterAddr('broker-a'), { offset, group: 'GID_NOBODY', delayLevel: 0 });
    expect(res.code).toBe(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST);
    expect(res.remark).toContain('subscription group not exist, GID_NOBODY');
    expect(await maxOffset(masterAddr('broker-a'), '%RETRY%GID_NOBODY')).toBe(0);
  });

  it('an offset that holds no message is SYSTEM_ERROR "look message by offset failed"', async () => {
    const res = await sendBack(masterAddr('broker-a'), { offset: 987_654_321, group: 'GID_RAW', delayLevel: 0 });
    expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(res.remark).toBe('look message by offset failed, 987654321');
  });

  it('a missing offset field is SYSTEM_ERROR naming the field', async () => {
    const res = await call(masterAddr('broker-a'), RequestCode.CONSUMER_SEND_MSG_BACK, { group: 'GID_RAW', delayLevel: 0 });
    expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(res.remark).toContain('offset');
  });

  it('delayLevel < 0 goes straight to the DLQ; ORIGIN_MESSAGE_ID is the offset id when there is no UNIQ_KEY', async () => {
    const addr = masterAddr('broker-a');
    const dlq = '%DLQ%GID_RAW';
    const before = await maxOffset(addr, dlq);
    const { msgId, offset } = await sendRaw(addr, topic, 'straight-to-dlq', { KEYS: 'raw-dlq-key' });
    const res = await sendBack(addr, { offset, group: 'GID_RAW', delayLevel: -1, maxReconsumeTimes: 16 });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    await waitFor(async () => await maxOffset(addr, dlq) === before + 1, 5000, 'DLQ entry');
    const [dead] = await query(addr, dlq, 'raw-dlq-key', false);
    expect(dead!.properties).toMatchObject({ ORIGIN_MESSAGE_ID: msgId, RETRY_TOPIC: topic });
    expect(dead!.reconsumeTimes).toBe(1);
    expect(dead!.body.toString()).toBe('straight-to-dlq');
  });

  it('an explicit delay level is used as given and the copy reaches %RETRY% after that level', async () => {
    const addr = masterAddr('broker-a');
    const retry = '%RETRY%GID_RAW';
    const before = await maxOffset(addr, retry);
    const uniq = uniqKey();
    const { offset } = await sendRaw(addr, topic, 'explicit-level', { UNIQ_KEY: uniq, TAGS: 'T1' });
    const started = Date.now();
    const res = await sendBack(addr, { offset, group: 'GID_RAW', delayLevel: 5, maxReconsumeTimes: 16 });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    // Level 5 = 1000 ms: first in SCHEDULE_TOPIC_XXXX queue 4, then in the retry topic.
    const [scheduled] = await query(addr, 'SCHEDULE_TOPIC_XXXX', uniq, true);
    expect(scheduled!.queueId).toBe(4);
    expect(scheduled!.properties).toMatchObject({ DELAY: '5', REAL_TOPIC: retry, REAL_QID: '0', ORIGIN_MESSAGE_ID: uniq });
    await waitFor(async () => await maxOffset(addr, retry) === before + 1, 5000, 'retry entry');
    expect(Date.now() - started).toBeGreaterThanOrEqual(SHORT_LEVELS[4]!);
    const [copy] = await query(addr, retry, uniq, true);
    expect(copy!.storeTimestamp - scheduled!.storeTimestamp).toBeGreaterThanOrEqual(SHORT_LEVELS[4]!);
    expect(copy!.properties).toMatchObject({ UNIQ_KEY: uniq, TAGS: 'T1', RETRY_TOPIC: topic, ORIGIN_MESSAGE_ID: uniq });
    expect(copy!.reconsumeTimes).toBe(1);
  });

  it('maxReconsumeTimes comes from the header for clients ≥ V3_4_9 (121), else from the group (retryMaxTimes 1)', async () => {
    const addr = masterAddr('broker-a');
    const dlq = '%DLQ%GID_RAW';
    const retry = '%RETRY%GID_RAW';
    const { offset } = await sendRaw(addr, topic, 'max-from-header', {});
    let dlqBefore = await maxOffset(addr, dlq);
    // Header says 0: reconsumeTimes 0 >= 0 → DLQ.
    expect((await sendBack(addr, { offset, group: 'GID_RAW', delayLevel: 0, maxReconsumeTimes: 0 }, 121)).code).toBe(ResponseCode.SUCCESS);
    await waitFor(async () => await maxOffset(addr, dlq) === dlqBefore + 1, 5000, 'DLQ entry');
    // An old client (version 120): the header is ignored, the group's 1 applies → retry, level 3.
    dlqBefore = await maxOffset(addr, dlq);
    const retryBefore = await maxOffset(addr, retry);
    expect((await sendBack(addr, { offset, group: 'GID_RAW', delayLevel: 0, maxReconsumeTimes: 0 }, 120)).code).toBe(ResponseCode.SUCCESS);
    await waitFor(async () => await maxOffset(addr, retry) === retryBefore + 1, 5000, 'retry entry');
    expect(await maxOffset(addr, dlq)).toBe(dlqBefore);
  });

  it('a group with retryQueueNums 0 answers SUCCESS and stores nothing', async () => {
    await createGroup('GID_NO_RETRY', { retryQueueNums: 0 });
    const addr = masterAddr('broker-a');
    const { offset } = await sendRaw(addr, topic, 'dropped', {});
    const scheduleBefore = await Promise.all([2, 3].map((q) => maxOffset(addr, 'SCHEDULE_TOPIC_XXXX', q)));
    const res = await sendBack(addr, { offset, group: 'GID_NO_RETRY', delayLevel: 0 });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(await Promise.all([2, 3].map((q) => maxOffset(addr, 'SCHEDULE_TOPIC_XXXX', q)))).toEqual(scheduleBefore);
    expect(await maxOffset(addr, '%RETRY%GID_NO_RETRY')).toBe(0);
    expect(await maxOffset(addr, '%DLQ%GID_NO_RETRY')).toBe(0);
  });
});
