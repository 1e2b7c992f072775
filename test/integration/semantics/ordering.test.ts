/**
 * Ordered consumption over real TCP. ali-ons has no orderly consumer, so the test has its own, as a
 * Java orderly push consumer works: heartbeat, rebalance (AllocateMessageQueueAveragely over the
 * group's client ids), LOCK_BATCH_MQ (41) before consuming a queue and on every rebalance (renewal),
 * one queue processed sequentially, offsets committed, UNLOCK_BATCH_MQ (42) when a queue moves away.
 * Shown: the lock table's rules (free / same client / expired; unlock by holder only), partial order
 * (10 sharding keys × 100 messages, queue by key hash, two instances, one leaving mid-way, gracefully
 * or by crashing so its locks must expire first), global order (a one-queue topic), and retries of a
 * group holding locks going straight to its DLQ (reference §7.4, §11.4).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { javaStringHashCode } from '../../../src-main/broker/store/message-codec.js';
import { waitFor } from '../../harness/temp-dir.js';
import {
  PULL_FLAG, body, call, heartbeatBody, pull, send, sendV2Header, sleep, startTestCluster, type TestCluster,
} from '../../harness/broker-protocol.js';

const LOCK_TTL_MS = 3000;
const KEYS = 10;
const PER_KEY = 100;

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster('it-order', {
    brokerGroups: ['broker-a', 'broker-b'],
    slavesPerGroup: 0,
    brokerOverrides: { queueLockMaxLiveTimeMs: LOCK_TTL_MS },
  });
});

afterAll(async () => {
  await t?.stop();
});

interface MQ {
  topic: string;
  brokerName: string;
  queueId: number;
}

const mqKey = (q: MQ): string => `${q.brokerName}/${q.queueId}`;
const addrOf = (brokerName: string): string => (brokerName === 'broker-a' ? t.brokerA : t.brokerB);

function lockBody(group: string, clientId: string, mqSet: MQ[]): Buffer {
  return Buffer.from(JSON.stringify({ consumerGroup: group, clientId, onlyThisBroker: false, mqSet }));
}

async function lock(client: RemotingClient, addr: string, group: string, clientId: string, mqSet: MQ[]): Promise<MQ[]> {
  const res = await call(client, addr, RequestCode.LOCK_BATCH_MQ, undefined, lockBody(group, clientId, mqSet));
  expect(res.code).toBe(ResponseCode.SUCCESS);
  return body<{ lockOKMQSet: MQ[] }>(res).lockOKMQSet;
}

async function unlock(client: RemotingClient, addr: string, group: string, clientId: string, mqSet: MQ[]): Promise<void> {
  const res = await call(client, addr, RequestCode.UNLOCK_BATCH_MQ, undefined, lockBody(group, clientId, mqSet));
  expect(res.code).toBe(ResponseCode.SUCCESS);
}

/** AllocateMessageQueueAveragely. */
function allocate(mqAll: MQ[], cidAll: string[], cid: string): MQ[] {
  const index = cidAll.indexOf(cid);
  if (index < 0) return [];
  const mod = mqAll.length % cidAll.length;
  const averageSize = mqAll.length <= cidAll.length ? 1
    : mod > 0 && index < mod ? Math.floor(mqAll.length / cidAll.length) + 1 : Math.floor(mqAll.length / cidAll.length);
  const startIndex = mod > 0 && index < mod ? index * averageSize : index * averageSize + mod;
  const range = Math.min(averageSize, mqAll.length - startIndex);
  const out: MQ[] = [];
  for (let i = 0; i < range; i++) out.push(mqAll[(startIndex + i) % mqAll.length]!);
  return out;
}

interface Processed {
  instance: string;
  queue: string;
  key: string;
  seq: number;
  at: number;
}

/** Shared by the instances of a test: what was processed, and queues being processed right now. */
class Sink {
  readonly processed: Processed[] = [];
  readonly inFlight = new Map<string, string>();
  overlaps = 0;
}

/** A minimal orderly push consumer (DefaultMQPushConsumer + ConsumeMessageOrderlyService, in spirit). */
class OrderlyConsumer {
  readonly client = new RemotingClient({ defaultTimeoutMs: 5000 });
  readonly clientId: string;
  /** Queues this instance may consume, with their consuming loops. */
  private readonly active = new Map<string, Promise<void>>();
  private readonly stopFlags = new Map<string, { stop: boolean }>();
  /** Last successful lock (renewal) per queue. */
  readonly lastLocked = new Map<string, number>();
  readonly firstLocked = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private rebalancing: Promise<void> | null = null;
  private stopped = false;

  constructor(readonly name: string, readonly group: string, readonly mqAll: MQ[], readonly sink: Sink) {
    this.clientId = `127.0.0.1@${name}`;
  }

  get held(): string[] {
    return [...this.active.keys()];
  }

  async start(): Promise<void> {
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat().catch(() => undefined), 1000));
    this.timers.push(setInterval(() => void this.rebalance(), 250));
    await this.rebalance();
  }

  /** Graceful shutdown: finish the message in hand, commit, unlock, unregister. */
  async leave(): Promise<void> {
    this.stopTimers();
    await this.rebalancing;
    for (const key of this.held) await this.release(key, true);
    for (const addr of new Set(this.mqAll.map((q) => addrOf(q.brokerName)))) {
      await call(this.client, addr, RequestCode.UNREGISTER_CLIENT, { clientID: this.clientId, consumerGroup: this.group });
    }
    this.client.close();
  }

  /** A crash right after a commit: consuming stops and the connections drop, with no unlock. */
  async crash(): Promise<void> {
    this.stopTimers();
    await this.rebalancing;
    for (const key of this.held) await this.release(key, false);
    this.client.close();
  }

  private stopTimers(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private async heartbeat(): Promise<void> {
    const hb = heartbeatBody(this.clientId, [{ groupName: this.group, subscriptions: [{ topic: this.mqAll[0]!.topic }] }]);
    for (const addr of new Set(this.mqAll.map((q) => addrOf(q.brokerName)))) {
      await call(this.client, addr, RequestCode.HEART_BEAT, undefined, hb);
    }
  }

  private rebalance(): Promise<void> {
    if (this.rebalancing || this.stopped) return this.rebalancing ?? Promise.resolve();
    this.rebalancing = this.doRebalance().catch(() => undefined).finally(() => {
      this.rebalancing = null;
    });
    return this.rebalancing;
  }

  private async doRebalance(): Promise<void> {
    const res = await call(this.client, addrOf(this.mqAll[0]!.brokerName), RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: this.group });
    if (res.code !== ResponseCode.SUCCESS || this.stopped) return;
    const cids = body<{ consumerIdList: string[] }>(res).consumerIdList.slice().sort();
    const mine = allocate(this.mqAll, cids, this.clientId);
    const mineKeys = new Set(mine.map(mqKey));
    for (const key of this.held) if (!mineKeys.has(key)) await this.release(key, true);
    for (const brokerName of new Set(mine.map((q) => q.brokerName))) {
      const wanted = mine.filter((q) => q.brokerName === brokerName);
      const granted = new Set((await lock(this.client, addrOf(brokerName), this.group, this.clientId, wanted)).map(mqKey));
      const now = Date.now();
      for (const q of wanted) {
        const key = mqKey(q);
        if (granted.has(key)) {
          this.lastLocked.set(key, now);
          if (!this.firstLocked.has(key)) this.firstLocked.set(key, now);
          if (!this.active.has(key) && !this.stopped) this.consume(q);
        } else if (this.active.has(key)) {
          await this.release(key, false); // someone else holds it: stop at once
        }
      }
    }
  }

  private consume(q: MQ): void {
    const key = mqKey(q);
    const flag = { stop: false };
    this.stopFlags.set(key, flag);
    this.active.set(key, this.loop(q, flag));
  }

  private async release(key: string, unlockIt: boolean): Promise<void> {
    const flag = this.stopFlags.get(key);
    if (flag) flag.stop = true;
    await this.active.get(key);
    this.active.delete(key);
    this.stopFlags.delete(key);
    if (unlockIt) {
      const q = this.mqAll.find((m) => mqKey(m) === key)!;
      await unlock(this.client, addrOf(q.brokerName), this.group, this.clientId, [q]);
    }
  }

  private async loop(q: MQ, flag: { stop: boolean }): Promise<void> {
    const addr = addrOf(q.brokerName);
    const key = mqKey(q);
    const off = await call(this.client, addr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: this.group, topic: q.topic, queueId: q.queueId });
    let offset = off.code === ResponseCode.SUCCESS ? Number(off.extFields!.offset) : 0;
    let committed = offset;
    try {
      while (!flag.stop) {
        const p = await pull(this.client, addr, {
          topic: q.topic, queueId: q.queueId, queueOffset: offset, group: this.group, maxMsgNums: 8, sysFlag: PULL_FLAG.SUBSCRIPTION,
        });
        if (p.code !== ResponseCode.SUCCESS) {
          if (p.code === ResponseCode.PULL_OFFSET_MOVED) offset = p.nextBeginOffset;
          await sleep(30);
          continue;
        }
        for (const m of p.messages) {
          if (flag.stop) break;
          const holder = this.sink.inFlight.get(key);
          if (holder !== undefined && holder !== this.name) this.sink.overlaps++;
          this.sink.inFlight.set(key, this.name);
          await sleep(Math.random() < 0.2 ? 1 : 0); // some work, and a chance for others to interleave
          const [msgKey, seq] = m.body.toString().split(':');
          this.sink.processed.push({ instance: this.name, queue: key, key: msgKey!, seq: Number(seq), at: Date.now() });
          if (this.sink.inFlight.get(key) === this.name) this.sink.inFlight.delete(key);
          offset = m.queueOffset + 1;
        }
        if (offset !== committed) {
          await call(this.client, addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: this.group, topic: q.topic, queueId: q.queueId, commitOffset: offset });
          committed = offset;
        }
      }
    } finally {
      if (offset !== committed) {
        await call(this.client, addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: this.group, topic: q.topic, queueId: q.queueId, commitOffset: offset })
          .catch(() => undefined);
      }
    }
  }
}

async function createTopic(topic: string, queues: number, brokerNames: string[]): Promise<MQ[]> {
  for (const b of brokerNames) {
    const res = await call(t.client, addrOf(b), RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: queues, writeQueueNums: queues, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: true,
    });
    expect(res.code).toBe(ResponseCode.SUCCESS);
  }
  const all: MQ[] = [];
  for (const b of [...brokerNames].sort()) for (let q = 0; q < queues; q++) all.push({ topic, brokerName: b, queueId: q });
  return all;
}

/** SelectMessageQueueByHash: |hashCode(key) % n|. */
const queueOfKey = (key: string, n: number): number => Math.abs(javaStringHashCode(key) % n);

/** 10 keys × 100 messages, each key's messages sent in order to the queue of its hash, keys interleaved. */
async function produce(mqAll: MQ[], paceMs: number): Promise<Map<string, number>> {
  const queueOf = new Map<string, number>();
  await Promise.all(Array.from({ length: KEYS }, async (_, k) => {
    const key = `order-${k}`;
    const mq = mqAll[queueOfKey(key, mqAll.length)]!;
    queueOf.set(key, queueOfKey(key, mqAll.length));
    for (let seq = 0; seq < PER_KEY; seq++) {
      await send(t.client, addrOf(mq.brokerName), {
        topic: mq.topic, queueId: mq.queueId, body: `${key}:${seq}`, keys: key, tags: 'Order', producerGroup: 'PID_ORDER',
        properties: { __SHARDINGKEY: key },
      });
      if (paceMs > 0) await sleep(paceMs);
    }
  }));
  return queueOf;
}

function expectStrictOrderPerKey(sink: Sink): void {
  const byKey = new Map<string, number[]>();
  for (const p of sink.processed) {
    let l = byKey.get(p.key);
    if (!l) byKey.set(p.key, (l = []));
    l.push(p.seq);
  }
  expect([...byKey.keys()].sort()).toEqual(Array.from({ length: KEYS }, (_, k) => `order-${k}`).sort());
  for (const [key, seqs] of byKey) expect(seqs, key).toEqual(Array.from({ length: PER_KEY }, (_, i) => i));
  expect(sink.overlaps).toBe(0);
}

describe('LOCK_BATCH_MQ / UNLOCK_BATCH_MQ', () => {
  const G = 'GID_LOCK_RULES';
  const q = (queueId: number): MQ => ({ topic: 'LockRules', brokerName: 'broker-a', queueId });

  it('grants free queues and the holder\'s own, refuses others\' until unlocked by the holder or expired', async () => {
    expect((await lock(t.client, t.brokerA, G, 'c1', [q(0), q(1)])).map((m) => m.queueId).sort()).toEqual([0, 1]);
    // Already held by c1: granted again (renewal); q1 refused to c2, q2 free.
    expect((await lock(t.client, t.brokerA, G, 'c1', [q(0)])).map((m) => m.queueId)).toEqual([0]);
    expect((await lock(t.client, t.brokerA, G, 'c2', [q(1), q(2)])).map((m) => m.queueId)).toEqual([2]);
    // The answer echoes the queues as MessageQueue objects.
    expect(await lock(t.client, t.brokerA, G, 'c2', [q(2)])).toEqual([{ brokerName: 'broker-a', queueId: 2, topic: 'LockRules' }]);
    // Only the holder can unlock.
    await unlock(t.client, t.brokerA, G, 'c2', [q(1)]);
    expect(await lock(t.client, t.brokerA, G, 'c3', [q(1)])).toEqual([]);
    await unlock(t.client, t.brokerA, G, 'c1', [q(1)]);
    expect((await lock(t.client, t.brokerA, G, 'c3', [q(1)])).map((m) => m.queueId)).toEqual([1]);
    // Another group is independent.
    expect((await lock(t.client, t.brokerA, 'GID_OTHER', 'x', [q(1)])).map((m) => m.queueId)).toEqual([1]);
    // Not renewed for the lock lifetime: expired, and granted to another client.
    await sleep(LOCK_TTL_MS + 200);
    expect((await lock(t.client, t.brokerA, G, 'c9', [q(0), q(1), q(2)])).map((m) => m.queueId).sort()).toEqual([0, 1, 2]);
  });

  it('refuses a malformed body', async () => {
    const res = await call(t.client, t.brokerA, RequestCode.LOCK_BATCH_MQ, undefined, Buffer.from('{"mqSet":[]}'));
    expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(res.remark).toContain('consumerGroup');
  });

  it('while the group holds locks, a retry send goes straight to %DLQ%; without locks it stays a retry', async () => {
    const group = 'GID_ORDER_DLQ';
    const hb = await call(t.client, t.brokerA, RequestCode.HEART_BEAT, undefined,
      heartbeatBody('127.0.0.1@dlq', [{ groupName: group, subscriptions: [{ topic: 'OrderDlq' }] }]));
    expect(hb.code).toBe(ResponseCode.SUCCESS);
    const retrySend = async (bodyText: string): Promise<void> => {
      const res = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2,
        { ...sendV2Header({ topic: `%RETRY%${group}`, properties: { RETRY_TOPIC: 'OrderDlq' } }), j: 1 }, Buffer.from(bodyText));
      expect(res.code).toBe(ResponseCode.SUCCESS);
    };
    const bodies = async (topic: string): Promise<string[]> =>
      (await pull(t.client, t.brokerA, { topic, queueOffset: 0, group: 'CID_DLQ_READER' })).messages.map((m) => m.body.toString());

    await lock(t.client, t.brokerA, group, '127.0.0.1@dlq', [{ topic: 'OrderDlq', brokerName: 'broker-a', queueId: 0 }]);
    await retrySend('while-locked');
    expect(await bodies(`%DLQ%${group}`)).toEqual(['while-locked']);
    expect(await bodies(`%RETRY%${group}`)).toEqual([]);

    await unlock(t.client, t.brokerA, group, '127.0.0.1@dlq', [{ topic: 'OrderDlq', brokerName: 'broker-a', queueId: 0 }]);
    await retrySend('unlocked');
    expect(await bodies(`%RETRY%${group}`)).toEqual(['unlocked']);
    expect(await bodies(`%DLQ%${group}`)).toEqual(['while-locked']);
  });
});

describe('orderly consumption', () => {
  it('partial order: 10 keys × 100 messages in order per key across two instances, one leaving mid-way', async () => {
    const mqAll = await createTopic('OrderPartial', 4, ['broker-a', 'broker-b']);
    const sink = new Sink();
    const a = new OrderlyConsumer('order-a', 'GID_ORDER_PARTIAL', mqAll, sink);
    const b = new OrderlyConsumer('order-b', 'GID_ORDER_PARTIAL', mqAll, sink);
    await a.start();
    await b.start();
    await waitFor(() => a.held.length === 4 && b.held.length === 4, 10_000, 'the 8 queues split 4/4');
    const aQueues = new Set(a.held);

    const producing = produce(mqAll, 8);
    const queueOf = await (async () => {
      await waitFor(() => sink.processed.length >= 300, 30_000, '300 messages processed');
      await a.leave();
      return producing;
    })();
    const leftAt = Date.now();
    await waitFor(() => sink.processed.length >= KEYS * PER_KEY, 60_000, `all messages processed (have ${sink.processed.length})`);
    await sleep(500);
    expect(sink.processed).toHaveLength(KEYS * PER_KEY);
    expectStrictOrderPerKey(sink);

    // Each key stayed on its queue; both instances worked; after leaving, a processed nothing more.
    for (const p of sink.processed) expect(p.queue).toBe(mqKey(mqAll[queueOf.get(p.key)!]!));
    expect(new Set(sink.processed.map((p) => p.queue)).size).toBeGreaterThanOrEqual(3);
    expect(sink.processed.some((p) => p.instance === 'order-a')).toBe(true);
    expect(sink.processed.some((p) => p.instance === 'order-b')).toBe(true);
    expect(sink.processed.filter((p) => p.instance === 'order-a' && p.at > leftAt)).toEqual([]);
    // b took over a's queues and continued them.
    await waitFor(() => b.held.length === 8, 5000, 'b to hold every queue');
    const takenOver = sink.processed.filter((p) => aQueues.has(p.queue) && p.instance === 'order-b');
    expect(takenOver.length).toBeGreaterThan(0);
    await b.leave();
  }, 120_000);

  it('an instance that crashes keeps its queues locked until the locks expire; then the other continues in order', async () => {
    const mqAll = await createTopic('OrderCrash', 4, ['broker-a', 'broker-b']);
    const sink = new Sink();
    const a = new OrderlyConsumer('crash-a', 'GID_ORDER_CRASH', mqAll, sink);
    const b = new OrderlyConsumer('crash-b', 'GID_ORDER_CRASH', mqAll, sink);
    await a.start();
    await b.start();
    await waitFor(() => a.held.length === 4 && b.held.length === 4, 10_000, 'the 8 queues split 4/4');
    const aQueues = [...a.held];

    const producing = produce(mqAll, 8);
    await waitFor(() => sink.processed.length >= 300, 30_000, '300 messages processed');
    await a.crash();
    const crashedAt = Date.now();
    await producing;
    await waitFor(() => sink.processed.length >= KEYS * PER_KEY, 60_000, `all messages processed (have ${sink.processed.length})`);
    await sleep(500);
    expect(sink.processed).toHaveLength(KEYS * PER_KEY);
    expectStrictOrderPerKey(sink);

    // b got each of a's queues only once a's lock had lapsed (not renewed for the lifetime).
    for (const key of aQueues) {
      const got = b.firstLocked.get(key);
      expect(got, key).toBeDefined();
      // a's clock reading is taken just after the broker's; allow those few ms.
      expect(got! - a.lastLocked.get(key)!, key).toBeGreaterThanOrEqual(LOCK_TTL_MS - 50);
      expect(got!).toBeGreaterThan(crashedAt);
    }
    await b.leave();
  }, 120_000);

  it('global order: a one-queue topic is consumed in exactly the order sent', async () => {
    const mqAll = await createTopic('OrderGlobal', 1, ['broker-a']);
    const sink = new Sink();
    const a = new OrderlyConsumer('global-a', 'GID_ORDER_GLOBAL', mqAll, sink);
    const b = new OrderlyConsumer('global-b', 'GID_ORDER_GLOBAL', mqAll, sink);
    await a.start();
    await b.start();
    await waitFor(() => a.held.length + b.held.length === 1, 10_000, 'one instance to hold the queue');
    for (let i = 0; i < 200; i++) {
      await send(t.client, t.brokerA, { topic: 'OrderGlobal', queueId: 0, body: `global:${i}`, producerGroup: 'PID_ORDER' });
    }
    await waitFor(() => sink.processed.length >= 200, 30_000, 'all 200 processed');
    await sleep(300);
    expect(sink.processed.map((p) => p.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(new Set(sink.processed.map((p) => p.instance)).size).toBe(1);
    expect(sink.overlaps).toBe(0);
    await Promise.all([a.leave(), b.leave()]);
  }, 60_000);
});

describe('admin view', () => {
  it('lists the lock table, expired entries flagged', () => {
    const view = t.cluster.broker('broker-a')!.queueLocks.list();
    expect(view.some((l) => l.group === 'GID_LOCK_RULES' && l.clientId === 'c9' && l.topic === 'LockRules')).toBe(true);
    expect(view.every((l) => typeof l.expired === 'boolean')).toBe(true);
  });
});
