/**
 * Delay levels through SCHEDULE_TOPIC_XXXX and exact-time (RocketMQ 5 timer) delivery through
 * rmq_sys_wheel_timer (reference §7.2 step 7, §11.2), with the real ali-ons client where it can
 * (Message#delayTimeLevel sets DELAY) and raw SEND_MESSAGE_V2 for the timer properties. Every
 * delivery is checked against its exact due time: never before, and late by little (printed).
 * Delayed messages survive a full cluster stop/start, delivered exactly once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { createRequest, type HeaderValues, type RemotingCommand } from '../../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { parseFastjson } from '../../../src-main/remoting/fastjson.js';
import { decodeMessages, encodeProperties, type MessageExt } from '../../../src-main/broker/store/message-codec.js';
import { tempDir, waitFor } from '../../harness/temp-dir.js';
import {
  closeDefaultProducer, createMessage, trackClients, type OnsMessage,
} from '../../harness/ali-ons.js';

/** RocketMQ's default levels, in ms. */
const LEVEL_MS = [1000, 5000, 10_000];
/** Lateness allowed between the due time and the consumer's handler (long-poll wake-up, decode). */
const TOLERANCE_MS = 500;

const clients = trackClients({ withDefaultProducer: true });

const dir = tempDir('semantics-delay');
let cluster: EmbeddedCluster;
let client: RemotingClient;

const masterAddr = (c: EmbeddedCluster, brokerName: string): string => c.broker(brokerName)!.address;

function call(addr: string, code: number, header?: HeaderValues, body?: Buffer): Promise<RemotingCommand> {
  return client.invoke(addr, createRequest(code, header, body), 5000);
}

async function maxOffset(addr: string, topic: string, queueId = 0): Promise<number> {
  const res = await call(addr, RequestCode.GET_MAX_OFFSET, { topic, queueId });
  return Number(res.extFields?.offset ?? 0);
}

async function createTopic(c: EmbeddedCluster, topic: string, queues: number): Promise<void> {
  for (const name of ['broker-a', 'broker-b']) {
    const res = await call(masterAddr(c, name), RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: queues, writeQueueNums: queues, perm: 6, topicFilterType: 'SINGLE_TAG',
      topicSysFlag: 0, order: false,
    });
    expect(res.code).toBe(ResponseCode.SUCCESS);
  }
}

async function queryOne(addr: string, topic: string, key: string): Promise<MessageExt> {
  const res = await call(addr, RequestCode.QUERY_MESSAGE, { topic, key, maxNum: 32, beginTimestamp: 0, endTimestamp: Date.now() + 60_000 });
  expect(res.code, `${topic} ${key}: ${res.remark ?? ''}`).toBe(ResponseCode.SUCCESS);
  const found = decodeMessages(res.body ?? Buffer.alloc(0));
  expect(found, `${topic} ${key}`).toHaveLength(1);
  return found[0]!;
}

function sendRaw(addr: string, topic: string, queueId: number, body: string, properties: Record<string, string>): Promise<RemotingCommand> {
  return call(addr, RequestCode.SEND_MESSAGE_V2, {
    a: 'PID_RAW_DELAY', b: topic, c: 'TBW102', d: 4, e: queueId, f: 0, g: Date.now(), h: 0, i: encodeProperties(properties),
  }, Buffer.from(body));
}

interface Received {
  key: string;
  at: number;
  msg: OnsMessage;
}

/** A FIRST_OFFSET consumer recording every delivery by key (the first key of the message). */
async function consumeAll(c: EmbeddedCluster, group: string, instance: string, topic: string): Promise<Received[]> {
  const received: Received[] = [];
  const consumer = clients.createConsumer(c.namesrvAddr, group, instance, {
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', rebalanceInterval: 1000, pollNameServerInteval: 1000,
  });
  consumer.on('error', () => undefined);
  consumer.subscribe(topic, '*', async (msg: OnsMessage) => {
    received.push({ key: String(msg.keys).split(' ')[0]!, at: Date.now(), msg });
  });
  await consumer.ready();
  return received;
}

beforeAll(async () => {
  cluster = await startCluster({ dataDir: dir.path, namesrvPort: 0 });
  client = new RemotingClient({ defaultTimeoutMs: 5000 });
});

afterEach(() => clients.closeAll());

afterAll(async () => {
  client?.close();
  await cluster?.stop();
  dir.remove();
});

describe('delay levels (ali-ons Message#delayTimeLevel)', () => {
  it('levels 1 (1 s), 2 (5 s) and 3 (10 s) deliver not before their due time and within the tolerance after', async () => {
    const topic = 'DelayLevels';
    await createTopic(cluster, topic, 2);
    const received = await consumeAll(cluster, 'GID_DELAY_LEVELS', 'delay-c1', topic);
    const producer = clients.createProducer(cluster.namesrvAddr, 'PID_DELAY_LEVELS', 'delay-p1');
    await producer.ready();

    const sent: Array<{ key: string; level: number; broker: string }> = [];
    for (const level of [1, 2, 3]) {
      for (let i = 0; i < 2; i++) {
        const key = `level${level}-${i}`;
        const msg = createMessage(topic, `Tag${level}`, `body-${key}`, [key]);
        (msg as unknown as { delayTimeLevel: number }).delayTimeLevel = level;
        const res = await producer.send(msg);
        expect(res.sendStatus).toBe('SEND_OK');
        // The reply names the real queue, not the schedule queue.
        expect(res.messageQueue.topic).toBe(topic);
        sent.push({ key, level, broker: res.messageQueue.brokerName });
      }
    }
    expect(new Set(sent.map((s) => s.broker)).size).toBe(2);
    // Right after sending, nothing is visible in the topic.
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toEqual([]);

    await waitFor(() => received.length >= sent.length, 20_000, `${sent.length} delayed deliveries (have ${received.length})`);
    await new Promise((r) => setTimeout(r, 500));
    expect(received.map((r) => r.key).sort()).toEqual(sent.map((s) => s.key).sort());

    const lateness: Record<string, number[]> = {};
    for (const s of sent) {
      const r = received.find((x) => x.key === s.key)!;
      const addr = masterAddr(cluster, s.broker);
      // The due time is exact: the schedule record's store time + the level's delay.
      const scheduled = await queryOne(addr, 'SCHEDULE_TOPIC_XXXX', s.key);
      expect(scheduled.queueId).toBe(s.level - 1);
      expect(scheduled.properties).toMatchObject({ DELAY: String(s.level), REAL_TOPIC: topic });
      const due = scheduled.storeTimestamp + LEVEL_MS[s.level - 1]!;
      const copy = await queryOne(addr, topic, s.key);
      expect(copy.storeTimestamp).toBeGreaterThanOrEqual(due);
      expect(r.at).toBeGreaterThanOrEqual(due);
      expect(r.at - due).toBeLessThan(TOLERANCE_MS);
      // The consumer sees the message as sent: no DELAY / REAL_*, its tag, body and born time.
      expect(r.msg.properties.DELAY).toBeUndefined();
      expect(r.msg.properties.REAL_TOPIC).toBeUndefined();
      expect(r.msg.properties.REAL_QID).toBeUndefined();
      expect(r.msg.tags).toBe(`Tag${s.level}`);
      expect(r.msg.body.toString()).toBe(`body-${s.key}`);
      (lateness[`level ${s.level}`] ??= []).push(r.at - due);
    }
    console.log(`delay-level lateness at the consumer (ms after due): ${JSON.stringify(lateness)}`);

    // GET_ALL_DELAY_OFFSET: every level listed; levels 1–3 advanced past what each broker got.
    for (const name of ['broker-a', 'broker-b']) {
      const res = await call(masterAddr(cluster, name), RequestCode.GET_ALL_DELAY_OFFSET);
      expect(res.code).toBe(ResponseCode.SUCCESS);
      expect(res.body!.toString()).toMatch(/^\{"offsetTable":\{1:\d+,2:\d+,3:\d+,4:0,/);
      const table = (parseFastjson(res.body!.toString()) as { offsetTable: Record<string, number> }).offsetTable;
      for (const level of [1, 2, 3]) {
        expect(table[String(level)]).toBe(sent.filter((s) => s.broker === name && s.level === level).length);
      }
      const stats = cluster.broker(name)!.schedule!.levelStats();
      expect(stats).toHaveLength(18);
      expect(stats[0]).toMatchObject({ level: 1, delayMs: 1000, pendingCount: 0, nextDueTime: null });
      expect(stats.slice(0, 3).reduce((n, l) => n + l.deliveredLastMinute, 0)).toBe(sent.filter((s) => s.broker === name).length);
    }
  }, 60_000);
});

describe('exact-time delivery (TIMER_DELIVER_MS / TIMER_DELAY_MS / TIMER_DELAY_SEC over SEND_MESSAGE_V2)', () => {
  it('delivers each message at its own time, in due order whatever the send order', async () => {
    const topic = 'TimerExact';
    await createTopic(cluster, topic, 1);
    const received = await consumeAll(cluster, 'GID_TIMER', 'timer-c1', topic);
    const addr = masterAddr(cluster, 'broker-a');
    const now = Date.now();
    const plan: Array<{ key: string; props: Record<string, string> }> = [
      { key: 'deliver-at-3000', props: { TIMER_DELIVER_MS: String(now + 3000) } },
      { key: 'delay-ms-1500', props: { TIMER_DELAY_MS: '1500' } },
      { key: 'delay-sec-2', props: { TIMER_DELAY_SEC: '2' } },
      { key: 'deliver-at-2500', props: { TIMER_DELIVER_MS: String(now + 2500) } },
      { key: 'deliver-at-3750', props: { TIMER_DELIVER_MS: String(now + 3750) } },
    ];
    const dues = new Map<string, number>();
    for (const p of plan) {
      const res = await sendRaw(addr, topic, 0, `body-${p.key}`, { KEYS: p.key, TAGS: 'TimerTag', ...p.props });
      expect(res.code).toBe(ResponseCode.SUCCESS);
      expect(res.extFields?.queueId).toBe('0');
      const stored = await queryOne(addr, 'rmq_sys_wheel_timer', p.key);
      expect(stored.properties).toMatchObject({ REAL_TOPIC: topic, REAL_QID: '0' });
      dues.set(p.key, Number(stored.properties.TIMER_OUT_MS));
    }
    expect(dues.get('deliver-at-3000')).toBe(now + 3000);
    const timerStats = cluster.broker('broker-a')!.schedule!.timerStats();
    expect(timerStats.pendingCount).toBe(plan.length);
    expect(timerStats.nextDueTime).toBe(Math.min(...dues.values()));

    await waitFor(() => received.length >= plan.length, 15_000, `${plan.length} timer deliveries (have ${received.length})`);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.map((r) => r.key)).toEqual([...dues.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k));
    const lateness: Record<string, number> = {};
    for (const r of received) {
      const due = dues.get(r.key)!;
      const copy = await queryOne(addr, topic, r.key);
      expect(copy.storeTimestamp).toBeGreaterThanOrEqual(due);
      expect(r.at).toBeGreaterThanOrEqual(due);
      expect(r.at - due).toBeLessThan(TOLERANCE_MS);
      expect(r.msg.properties.REAL_TOPIC).toBeUndefined();
      expect(r.msg.tags).toBe('TimerTag');
      lateness[r.key] = r.at - due;
    }
    console.log(`timer lateness at the consumer (ms after due): ${JSON.stringify(lateness)}`);
    expect(cluster.broker('broker-a')!.schedule!.timerStats()).toMatchObject({ pendingCount: 0, nextDueTime: null, deliveredLastMinute: plan.length });
  }, 30_000);

  it('DELAY wins over the timer properties; a past time is delivered at once; beyond 3 days is MESSAGE_ILLEGAL', async () => {
    const topic = 'TimerRules';
    await createTopic(cluster, topic, 1);
    const addr = masterAddr(cluster, 'broker-a');

    const both = await sendRaw(addr, topic, 0, 'both', { KEYS: 'both', DELAY: '1', TIMER_DELIVER_MS: String(Date.now() + 60_000) });
    expect(both.code).toBe(ResponseCode.SUCCESS);
    const scheduled = await queryOne(addr, 'SCHEDULE_TOPIC_XXXX', 'both');
    expect(scheduled.properties.TIMER_DELIVER_MS).toBeUndefined();

    const past = await sendRaw(addr, topic, 0, 'past', { KEYS: 'past', TIMER_DELIVER_MS: String(Date.now() - 1000) });
    expect(past.code).toBe(ResponseCode.SUCCESS);
    expect((await queryOne(addr, topic, 'past')).body.toString()).toBe('past');

    const far = await sendRaw(addr, topic, 0, 'far', { KEYS: 'far', TIMER_DELAY_SEC: String(3 * 24 * 3600 + 60) });
    expect(far.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect(far.remark).toContain('timer message illegal');
    const bad = await sendRaw(addr, topic, 0, 'bad', { KEYS: 'bad', TIMER_DELIVER_MS: 'soon' });
    expect(bad.code).toBe(ResponseCode.MESSAGE_ILLEGAL);

    await waitFor(async () => await maxOffset(addr, topic) === 2, 5000, 'the DELAY=1 message after 1 s');
    expect((await queryOne(addr, topic, 'both')).body.toString()).toBe('both');
  }, 20_000);
});

describe('delayed messages across a cluster stop and start', () => {
  it('are delivered exactly once: none lost, none doubled', async () => {
    const restartDir = tempDir('semantics-delay-restart');
    let c = await startCluster({ dataDir: restartDir.path, namesrvPort: 0 });
    try {
      const topic = 'DelayRestart';
      await createTopic(c, topic, 2);
      const producer = clients.createProducer(c.namesrvAddr, 'PID_DELAY_RESTART', 'restart-p1');
      await producer.ready();
      const sendDelayed = async (key: string, level: number): Promise<string> => {
        const msg = createMessage(topic, 'TagR', `body-${key}`, [key]);
        (msg as unknown as { delayTimeLevel: number }).delayTimeLevel = level;
        const res = await producer.send(msg);
        expect(res.sendStatus).toBe('SEND_OK');
        return res.messageQueue.brokerName;
      };
      const keys: string[] = [];
      // Delivered before the stop: must not come again after the start.
      for (let i = 0; i < 6; i++) keys.push(`early-${i}`);
      for (const k of keys) await sendDelayed(k, 1);
      const realCount = async (cl: EmbeddedCluster): Promise<number> => {
        let n = 0;
        for (const name of ['broker-a', 'broker-b']) for (const q of [0, 1]) n += await maxOffset(masterAddr(cl, name), topic, q);
        return n;
      };
      await waitFor(async () => await realCount(c) === 6, 5000, 'level-1 messages delivered before the stop');
      // Pending at the stop: 5 s level and exact-time messages.
      const late: string[] = [];
      for (let i = 0; i < 10; i++) late.push(`late-${i}`);
      for (const k of late) await sendDelayed(k, 2);
      const timerAt = Date.now() + 4000;
      for (let i = 0; i < 3; i++) {
        const key = `timer-${i}`;
        const res = await sendRaw(masterAddr(c, i % 2 === 0 ? 'broker-a' : 'broker-b'), topic, 0, `body-${key}`,
          { KEYS: key, TAGS: 'TagR', TIMER_DELIVER_MS: String(timerAt + i * 100) });
        expect(res.code).toBe(ResponseCode.SUCCESS);
        late.push(key);
      }
      await producer.close();
      await closeDefaultProducer();
      expect(await realCount(c)).toBe(6);
      const pendingBefore = ['broker-a', 'broker-b'].reduce((n, name) => n + c.broker(name)!.schedule!.levelStats()[1]!.pendingCount, 0);
      expect(pendingBefore).toBe(10);

      await c.stop();
      // Down past the due times: the start delivers what came due meanwhile.
      await new Promise((r) => setTimeout(r, 1000));
      c = await startCluster({ dataDir: restartDir.path, namesrvPort: 0 });
      await waitFor(async () => await realCount(c) >= 6 + late.length, 15_000, 'pending delayed messages delivered after the start');
      await new Promise((r) => setTimeout(r, 1000));
      expect(await realCount(c)).toBe(6 + late.length);

      const received = await consumeAll(c, 'GID_DELAY_RESTART', 'restart-c1', topic);
      await waitFor(() => received.length >= 6 + late.length, 20_000, `all ${6 + late.length} messages consumed (have ${received.length})`);
      await new Promise((r) => setTimeout(r, 500));
      expect(received.map((r) => r.key).sort()).toEqual([...keys, ...late].sort());
      for (const r of received) expect(r.msg.body.toString()).toBe(`body-${r.key}`);
      for (const name of ['broker-a', 'broker-b']) {
        expect(c.broker(name)!.schedule!.levelStats().every((l) => l.pendingCount === 0)).toBe(true);
        expect(c.broker(name)!.schedule!.timerStats().pendingCount).toBe(0);
      }
      for (const k of clients.open) await k.close().catch(() => undefined);
      await closeDefaultProducer();
    } finally {
      await c.stop();
      restartDir.remove();
    }
  }, 90_000);
});
