/**
 * Compatibility with a real third-party RocketMQ client (ali-ons from npm) against the embedded
 * cluster: NameServer routing, send across both broker groups, clustering consumption by a group
 * of two instances, committed offsets surviving a full restart, an independent second group, and
 * broadcasting. Every assertion is on exact message sets.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../src-main/broker/cluster/cluster.js';
import { MQAdmin } from '../../src-main/remoting/admin/mq-admin.js';
import { tempDir, waitFor } from '../harness/temp-dir.js';
import {
  createMessage, trackClients, type OnsConsumer, type OnsMessage,
} from '../harness/ali-ons.js';

const clients = trackClients();
const { createConsumer, createProducer } = clients;

const TOPIC = 'CompatTopic';
const TOTAL = 1000;
const dir = tempDir('compat');
let cluster: EmbeddedCluster;
let admin: MQAdmin;
const sentIds = new Set<string>();
const sentKeys = new Map<string, string>(); // key -> tag

async function restart(): Promise<void> {
  admin.close();
  await cluster.stop();
  cluster = await startCluster({ dataDir: dir.path, namesrvPort: 0 });
  admin = new MQAdmin(cluster.namesrvAddr);
}

interface Received {
  byInstance: Map<string, OnsMessage[]>;
  all: OnsMessage[];
}

function consumeInto(consumer: OnsConsumer, instance: string, topic: string, received: Received, expression = '*'): void {
  received.byInstance.set(instance, []);
  consumer.subscribe(topic, expression, async (msg) => {
    received.byInstance.get(instance)!.push(msg);
    received.all.push(msg);
  });
}

const newReceived = (): Received => ({ byInstance: new Map(), all: [] });

beforeAll(async () => {
  cluster = await startCluster({ dataDir: dir.path, namesrvPort: 0 });
  admin = new MQAdmin(cluster.namesrvAddr);
  await admin.createTopic(TOPIC, 4);
});

afterEach(async () => {
  await clients.closeAll();
});

afterAll(async () => {
  admin?.close();
  await cluster?.stop();
  dir.remove();
});

describe('ali-ons against the embedded cluster', () => {
  it('routes the topic to both broker groups with master and slave addresses', async () => {
    const route = await admin.routeInfo(TOPIC);
    expect(route.queueDatas.map((q) => q.brokerName).sort()).toEqual(['broker-a', 'broker-b']);
    for (const b of route.brokerDatas) expect(Object.keys(b.brokerAddrs).sort()).toEqual(['0', '1']);
  });

  it('a group of two clustering consumers receives 1,000 sent messages exactly once, then offsets are committed', async () => {
    const received = newReceived();
    const c1 = createConsumer(cluster.namesrvAddr, 'GID_COMPAT_1', 'c1');
    const c2 = createConsumer(cluster.namesrvAddr, 'GID_COMPAT_1', 'c2');
    consumeInto(c1, 'c1', TOPIC, received);
    consumeInto(c2, 'c2', TOPIC, received);
    await Promise.all([c1.ready(), c2.ready()]);
    // Both instances must be in the group before sending, so the split is settled (ali-ons rebalances every 10 s).
    await waitFor(async () => {
      const broker = cluster.broker('broker-a')!;
      return broker.clients.consumerIds('GID_COMPAT_1').length === 2;
    }, 10_000, 'both consumers registered');
    await new Promise((r) => setTimeout(r, 11_000));

    const producer = createProducer(cluster.namesrvAddr, 'PID_COMPAT', 'p1');
    await producer.ready();
    const brokers = new Set<string>();
    const queues = new Set<string>();
    for (let i = 0; i < TOTAL; i++) {
      const tag = i % 2 === 0 ? 'TagA' : 'TagB';
      const key = `key-${i}`;
      const res = await producer.send(createMessage(TOPIC, tag, `body-${i}`, [key]));
      expect(res.sendStatus).toBe('SEND_OK');
      sentIds.add(res.msgId);
      sentKeys.set(key, tag);
      brokers.add(res.messageQueue.brokerName);
      queues.add(`${res.messageQueue.brokerName}/${res.messageQueue.queueId}`);
    }
    await producer.close();
    expect(brokers).toEqual(new Set(['broker-a', 'broker-b']));
    expect(queues.size).toBe(8);
    expect(sentIds.size).toBe(TOTAL);

    await waitFor(() => received.all.length >= TOTAL, 60_000, `${TOTAL} messages consumed (have ${received.all.length})`);
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.all.length).toBe(TOTAL);
    expect(new Set(received.all.map((m) => m.msgId))).toEqual(sentIds);
    for (const m of received.all) {
      const key = String(m.keys);
      expect(sentKeys.get(key)).toBe(m.tags);
      expect(m.body.toString()).toBe(`body-${key.slice(4)}`);
    }
    expect(received.byInstance.get('c1')!.length).toBeGreaterThan(0);
    expect(received.byInstance.get('c2')!.length).toBeGreaterThan(0);

    // ali-ons persists offsets every 5 s; then the broker's consume stats show no lag.
    await waitFor(async () => {
      const stats = await admin.consumeStats('GID_COMPAT_1', TOPIC);
      return stats.length === 8 && stats.every((q) => q.consumerOffset === q.brokerOffset);
    }, 15_000, 'committed offsets to reach the queue ends');
    const stats = await admin.consumeStats('GID_COMPAT_1', TOPIC);
    expect(stats.reduce((n, q) => n + q.brokerOffset, 0)).toBe(TOTAL);
    await Promise.all([c1.close(), c2.close()]);
  }, 120_000);

  it('after a full restart the group resumes without re-receiving committed messages', async () => {
    await restart();
    const stats = await admin.consumeStats('GID_COMPAT_1', TOPIC);
    expect(stats.every((q) => q.consumerOffset === q.brokerOffset)).toBe(true);
    expect(stats.reduce((n, q) => n + q.brokerOffset, 0)).toBe(TOTAL);

    const received = newReceived();
    const c1 = createConsumer(cluster.namesrvAddr, 'GID_COMPAT_1', 'c1-after-restart');
    consumeInto(c1, 'c1', TOPIC, received);
    await c1.ready();
    const producer = createProducer(cluster.namesrvAddr, 'PID_COMPAT', 'p2');
    await producer.ready();
    const fresh = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const res = await producer.send(createMessage(TOPIC, 'TagC', `after-restart-${i}`, [`after-${i}`]));
      fresh.add(res.msgId);
    }
    await producer.close();
    await waitFor(() => received.all.length >= 50, 30_000, 'post-restart messages consumed');
    await new Promise((r) => setTimeout(r, 2000));
    expect(new Set(received.all.map((m) => m.msgId))).toEqual(fresh);
    expect(received.all.length).toBe(50);
    await c1.close();
    for (const id of fresh) sentIds.add(id);
  }, 90_000);

  it('a second group receives every message independently', async () => {
    const received = newReceived();
    const c = createConsumer(cluster.namesrvAddr, 'GID_COMPAT_2', 'g2-c1');
    consumeInto(c, 'c1', TOPIC, received);
    await c.ready();
    await waitFor(() => received.all.length >= sentIds.size, 60_000, `all ${sentIds.size} messages for the second group (have ${received.all.length})`);
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.all.length).toBe(sentIds.size);
    expect(new Set(received.all.map((m) => m.msgId))).toEqual(sentIds);
    await c.close();
  }, 90_000);

  it('broadcasting: every instance of the group receives every message', async () => {
    const topic = 'CompatBroadcast';
    await admin.createTopic(topic, 2);
    const r1 = newReceived();
    const r2 = newReceived();
    const c1 = createConsumer(cluster.namesrvAddr, 'GID_COMPAT_BC', 'b1', { isBroadcast: true, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    const c2 = createConsumer(cluster.namesrvAddr, 'GID_COMPAT_BC', 'b2', { isBroadcast: true, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    consumeInto(c1, 'b1', topic, r1);
    consumeInto(c2, 'b2', topic, r2);
    await Promise.all([c1.ready(), c2.ready()]);
    const producer = createProducer(cluster.namesrvAddr, 'PID_COMPAT_BC', 'p3');
    await producer.ready();
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) ids.add((await producer.send(createMessage(topic, 'B', `bc-${i}`))).msgId);
    await producer.close();
    await waitFor(() => r1.all.length >= 100 && r2.all.length >= 100, 30_000, 'both broadcast instances to receive 100');
    expect(new Set(r1.all.map((m) => m.msgId))).toEqual(ids);
    expect(new Set(r2.all.map((m) => m.msgId))).toEqual(ids);
    await Promise.all([c1.close(), c2.close()]);
  }, 60_000);
});
