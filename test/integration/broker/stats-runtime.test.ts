/**
 * Statistics: GET_TOPIC_STATS_INFO (202) in fastjson object-key form, GET_CONSUME_STATS (208) lag,
 * GET_BROKER_RUNTIME_INFO (28) counters, and MQAdmin's readers of them (reference §3, §7.6, §8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MQAdmin } from '../../../src-main/remoting/admin/mq-admin.js';
import { parseFastjson } from '../../../src-main/remoting/fastjson.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { waitFor } from '../../harness/temp-dir.js';
import {
  body, call, pull, send, sleep, startTestCluster, type TestCluster,
} from '../../harness/broker-protocol.js';

let t: TestCluster;
let admin: MQAdmin;
/** Successful sends to broker-a's master made by this file. */
let sentToA = 0;

const sendA = async (topic: string, queueId: number, text = 'x') => {
  const r = await send(t.client, t.brokerA, { topic, queueId, body: text });
  sentToA++;
  return r;
};

beforeAll(async () => {
  t = await startTestCluster('it-stats');
  admin = new MQAdmin(t.namesrv);
});

afterAll(async () => {
  admin?.close();
  await t?.stop();
});

interface StatsEntry {
  minOffset: number;
  maxOffset: number;
  lastUpdateTimestamp: number;
}

describe('GET_TOPIC_STATS_INFO (202)', () => {
  it('writes MessageQueue keys as fastjson object keys and reports min/max offsets per queue', async () => {
    const topic = 'StatsTopic';
    await admin.createTopic(topic, 3);
    await sendA(topic, 0);
    await sendA(topic, 0);
    const last = await sendA(topic, 2);
    await send(t.client, t.brokerB, { topic, queueId: 1 });

    const res = await call(t.client, t.brokerA, RequestCode.GET_TOPIC_STATS_INFO, { topic });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const text = res.body!.toString('utf8');
    expect(text.startsWith(`{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"${topic}"}:{`)).toBe(true);
    expect(text).toMatch(new RegExp(`\\{"brokerName":"broker-a","queueId":2,"topic":"${topic}"\\}:\\{"lastUpdateTimestamp":\\d+,"maxOffset":1,"minOffset":0\\}`));
    expect(text).toContain(`{"brokerName":"broker-a","queueId":1,"topic":"${topic}"}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}`);
    expect(() => JSON.parse(text)).toThrow();

    const parsed = parseFastjson(text) as { offsetTable: Record<string, StatsEntry>; topicPutTps: number };
    expect(Object.keys(parsed.offsetTable).sort()).toEqual([0, 1, 2].map((q) => `${topic}|broker-a|${q}`));
    expect(parsed.offsetTable[`${topic}|broker-a|0`]).toMatchObject({ minOffset: 0, maxOffset: 2 });
    expect(parsed.offsetTable[`${topic}|broker-a|1`]).toEqual({ minOffset: 0, maxOffset: 0, lastUpdateTimestamp: 0 });
    const q2 = parsed.offsetTable[`${topic}|broker-a|2`]!;
    expect(q2.maxOffset).toBe(1);
    const stored = (await pull(t.client, t.brokerA, { topic, queueId: 2, queueOffset: 0 })).messages[0]!;
    expect(stored.msgId).toBe(last.msgId);
    expect(q2.lastUpdateTimestamp).toBe(stored.storeTimestamp);

    // MQAdmin.topicStats reads both masters.
    await waitFor(async () => (await admin.routeInfo(topic)).queueDatas.length === 2, 5000, 'route on both brokers');
    const stats = await admin.topicStats(topic);
    expect(stats.map((s) => [s.brokerName, s.queueId, s.maxOffset])).toEqual([
      ['broker-a', 0, 2], ['broker-a', 1, 0], ['broker-a', 2, 1],
      ['broker-b', 0, 0], ['broker-b', 1, 1], ['broker-b', 2, 0],
    ]);

    const unknown = await call(t.client, t.brokerA, RequestCode.GET_TOPIC_STATS_INFO, { topic: 'StatsNoSuchTopic' });
    expect(unknown.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });
});

describe('GET_CONSUME_STATS (208)', () => {
  it('reports brokerOffset, consumerOffset and lag = brokerOffset - consumerOffset per queue', async () => {
    const topic = 'StatsConsume';
    const group = 'CID_STATS';
    await admin.createTopic(topic, 2);
    for (let i = 0; i < 5; i++) await sendA(topic, 0, `c${i}`);
    for (let i = 0; i < 3; i++) await sendA(topic, 1, `d${i}`);
    await call(t.client, t.brokerA, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: 0, commitOffset: 2 });

    const res = await call(t.client, t.brokerA, RequestCode.GET_CONSUME_STATS, { consumerGroup: group, topic });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const text = res.body!.toString();
    expect(text).toContain(`{"brokerName":"broker-a","queueId":0,"topic":"${topic}"}:{"brokerOffset":5,"consumerOffset":2,`);
    const parsed = body<{ offsetTable: Record<string, { brokerOffset: number; consumerOffset: number; lastTimestamp: number }>; consumeTps: number }>(res);
    const q0 = parsed.offsetTable[`${topic}|broker-a|0`]!;
    const q1 = parsed.offsetTable[`${topic}|broker-a|1`]!;
    expect(q0.brokerOffset - q0.consumerOffset).toBe(3);
    expect(q1).toMatchObject({ brokerOffset: 3, consumerOffset: 0, lastTimestamp: 0 });
    const second = (await pull(t.client, t.brokerA, { topic, queueOffset: 1, maxMsgNums: 1 })).messages[0]!;
    expect(q0.lastTimestamp).toBe(second.storeTimestamp);
    expect(typeof parsed.consumeTps).toBe('number');

    await waitFor(async () => (await admin.routeInfo(topic)).queueDatas.length === 2, 5000, 'route on both brokers');
    const viaAdmin = await admin.consumeStats(group, topic);
    const lag = viaAdmin.reduce((sum, q) => sum + (q.brokerOffset - q.consumerOffset), 0);
    expect(lag).toBe(3 + 3);
    expect(viaAdmin.find((q) => q.brokerName === 'broker-a' && q.queueId === 0)).toMatchObject({ brokerOffset: 5, consumerOffset: 2 });

    // Without a topic: every topic the group has offsets for.
    const allTopics = body<{ offsetTable: Record<string, unknown> }>(
      await call(t.client, t.brokerA, RequestCode.GET_CONSUME_STATS, { consumerGroup: group }));
    expect(Object.keys(allTopics.offsetTable).sort()).toEqual([`${topic}|broker-a|0`, `${topic}|broker-a|1`]);
  });
});

describe('GET_BROKER_RUNTIME_INFO (28)', () => {
  interface Runtime { table: Record<string, string> }
  const runtime = async (addr = t.brokerA): Promise<Record<string, string>> =>
    body<Runtime>(await call(t.client, addr, RequestCode.GET_BROKER_RUNTIME_INFO)).table;

  it('has putTps triples, the put total of this file, and commitlog offsets', async () => {
    const topic = 'StatsRuntime';
    for (let i = 0; i < 4; i++) await sendA(topic, 0);
    // Misses only on broker-b (this file never pulls a message from it).
    await send(t.client, t.brokerB, { topic: 'StatsMiss', queueId: 0 });
    for (let i = 0; i < 3; i++) expect((await pull(t.client, t.brokerB, { topic: 'StatsMiss', queueOffset: 1 })).code).toBe(ResponseCode.PULL_NOT_FOUND);
    // Let the once-a-second sampler see the puts so the 10 s window is non-zero.
    await sleep(1100);
    await sendA(topic, 0);
    const table = await runtime();
    const triple = /^\d+\.\d{2} \d+\.\d{2} \d+\.\d{2}$/;
    for (const k of ['putTps', 'getFoundTps', 'getMissTps', 'getTransferredTps', 'getTotalTps']) expect(table[k], k).toMatch(triple);
    expect(table.putTps!.split(' ').map(Number).some((v) => v > 0)).toBe(true);
    expect(Number(table.msgPutTotalTodayNow)).toBe(sentToA);
    expect(Number(table.putMessageTimesTotal)).toBe(sentToA);
    expect(Number(table.commitLogMaxOffset)).toBeGreaterThan(0);
    expect(Number(table.commitLogMinOffset)).toBe(0);
    expect(Number(table.putMessageSizeTotal)).toBeGreaterThan(0);
    expect(Number(table.bootTimestamp)).toBeLessThanOrEqual(Date.now());
    expect(table.brokerVersionDesc).toMatch(/^V\d/);
    expect(table.runtime).toMatch(/^\[ \d+ days, \d+ hours, \d+ minutes, \d+ seconds \]$/);
    // getTotalTps = getFoundTps + getMissTps (RocketMQ StoreStatsService).
    const b = await runtime(t.brokerB);
    expect(b.getFoundTps).toBe('0.00 0.00 0.00');
    expect(b.getMissTps!.split(' ').map(Number).some((v) => v > 0)).toBe(true);
    expect(b.getTotalTps).toBe(b.getMissTps);
    for (const k of ['msgGetTotalTodayNow', 'msgPutTotalTodayMorning', 'msgGetTotalYesterdayMorning', 'commitLogDiskRatio',
      'dispatchBehindBytes', 'earliestMessageTimeStamp', 'startAcceptSendRequestTimeStamp', 'sendThreadPoolQueueSize',
      'pullThreadPoolQueueSize', 'remainHowManyDataToFlush']) {
      expect(table[k], k).toBeDefined();
    }
  });

  it('counts pulled messages in msgGetTotalTodayNow', async () => {
    const topic = 'StatsRuntimeGet';
    for (let i = 0; i < 3; i++) await sendA(topic, 0);
    const before = Number((await runtime()).msgGetTotalTodayNow);
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 0 });
    expect(p.messages).toHaveLength(3);
    expect(Number((await runtime()).msgGetTotalTodayNow)).toBe(before + 3);
  });

  it('each broker reports its own counters', async () => {
    const aBefore = Number((await runtime()).msgPutTotalTodayNow);
    const bBefore = Number((await runtime(t.brokerB)).msgPutTotalTodayNow);
    await send(t.client, t.brokerB, { topic: 'StatsOwnCounters', queueId: 0 });
    await send(t.client, t.brokerB, { topic: 'StatsOwnCounters', queueId: 0 });
    expect(Number((await runtime(t.brokerB)).msgPutTotalTodayNow)).toBe(bBefore + 2);
    expect(Number((await runtime()).msgPutTotalTodayNow)).toBe(aBefore);
    expect((await runtime(t.cluster.broker('broker-a', 1)!.address)).brokerRole).toBe('SLAVE');
  });
});
