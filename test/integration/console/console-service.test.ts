/**
 * The console service against a real embedded cluster, over loopback TCP only: every channel of
 * the contract, the values it reports, and that a refused request changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { ConsoleService } from '../../../src-main/console/service.js';
import type { Session } from '../../../src-main/console/dispatch.js';
import type { ChannelMap } from '../../../src-main/console/contract/contract.js';
import type { Channel } from '../../../src-main/console/contract/channels.js';
import type { TailEvent } from '../../../src-main/console/contract/dto.js';
import { tempDir, waitFor } from '../../harness/temp-dir.js';
import { createConsumer, type OnsConsumer } from '../../harness/ali-ons.js';

const dir = tempDir('console-it');
let cluster: EmbeddedCluster;
let service: ConsoleService;
let session: Session;
const events: TailEvent[] = [];

async function ok<C extends Channel>(channel: C, req: ChannelMap[C]['req']): Promise<ChannelMap[C]['res']> {
  const r = await service.dispatch(channel, req, session);
  if (!r.ok) throw new Error(`${channel} failed: ${r.error.code} ${r.error.message}`);
  return r.result as ChannelMap[C]['res'];
}

async function fails(channel: string, req: unknown): Promise<{ code: string; message: string }> {
  const r = await service.dispatch(channel, req, session);
  if (r.ok) throw new Error(`${channel} unexpectedly succeeded`);
  return r.error;
}

beforeAll(async () => {
  cluster = await startCluster({ dataDir: dir.path + '/cluster', namesrvPort: 0 });
  service = await ConsoleService.create({ dataDir: dir.path + '/console', embeddedNamesrvAddr: cluster.namesrvAddr, mode: 'headless', version: '9.9.9' });
  session = service.openSession((topic, payload) => {
    if (topic === 'playground:tail') events.push(payload as TailEvent);
  });
});

afterAll(async () => {
  await service?.close();
  await cluster?.stop();
  dir.remove();
});

describe('app and cluster', () => {
  it('app:info names the embedded NameServer', async () => {
    expect(await ok('app:info', {})).toEqual({ version: '9.9.9', mode: 'headless', namesrvAddr: cluster.namesrvAddr });
  });

  it('cluster:overview lists every node with its runtime info, and nulls (not -1) for what is missing', async () => {
    const o = await ok('cluster:overview', {});
    expect(o.nameServers).toEqual([{ address: cluster.namesrvAddr, reachable: true }]);
    expect(o.clusters).toEqual(['DefaultCluster']);
    expect(o.brokerGroups.map((g) => g.brokerName)).toEqual(['broker-a', 'broker-b']);
    for (const g of o.brokerGroups) {
      expect(g.nodes.map((n) => n.role)).toEqual(['MASTER', 'SLAVE']);
      for (const n of g.nodes) {
        expect(n.error).toBeNull();
        expect(n.version).toBe('V4_9_8');
        expect(n.tpsIn).toBeGreaterThanOrEqual(0);
        expect(n.diskRatio).not.toBe(-1);
        expect(cluster.nodes().some((x) => x.address === n.address)).toBe(true);
      }
    }
  });
});

describe('topics', () => {
  it('topic:create makes the topic on every master and the list shows it; system topics hide by default', async () => {
    await ok('topic:create', { topic: 'ItOrders', readQueueNums: 3, writeQueueNums: 3 });
    const list = await ok('topic:list', {});
    const t = list.topics.find((x) => x.name === 'ItOrders');
    expect(t).toMatchObject({ kind: 'NORMAL', brokers: ['broker-a', 'broker-b'], readQueueNums: 6, writeQueueNums: 6, perm: 6, order: false });
    expect(list.topics.every((x) => x.kind === 'NORMAL')).toBe(true);
    const all = await ok('topic:list', { includeSystem: true });
    expect(all.topics.some((x) => x.name === 'TBW102' && x.kind === 'SYSTEM')).toBe(true);
    expect(all.topics.some((x) => x.name === 'broker-a' && x.kind === 'SYSTEM')).toBe(true);
    expect((await ok('topic:list', { query: 'itord' })).topics.map((x) => x.name)).toEqual(['ItOrders']);
  });

  it('topic:create updates queue counts and permission of an existing topic', async () => {
    await ok('topic:create', { topic: 'ItUpdate', readQueueNums: 2, writeQueueNums: 2 });
    await ok('topic:create', { topic: 'ItUpdate', readQueueNums: 4, writeQueueNums: 4, perm: 4 });
    const d = await ok('topic:detail', { topic: 'ItUpdate' });
    expect(d.brokers.map((b) => [b.readQueueNums, b.writeQueueNums, b.perm])).toEqual([[4, 4, 4], [4, 4, 4]]);
  });

  it('topic:detail gives per-queue min/max and a null last store time for empty queues', async () => {
    const d = await ok('topic:detail', { topic: 'ItOrders' });
    expect(d.queues).toHaveLength(6);
    expect(d.queues.every((q) => q.minOffset === 0 && q.maxOffset === 0 && q.lastStoreTime === null)).toBe(true);
    expect(d.totalMessages).toBe(0);
  });

  it('refuses bad names, system names and missing topics, changing nothing', async () => {
    expect((await fails('topic:create', { topic: 'bad name!' })).code).toBe('BAD_REQUEST');
    expect((await fails('topic:create', { topic: 'TBW102' })).code).toBe('FORBIDDEN');
    expect((await fails('topic:create', { topic: 'X', readQueueNums: 0 })).message).toMatch(/readQueueNums/);
    expect((await fails('topic:detail', { topic: 'NoSuchTopic' })).code).toBe('NOT_FOUND');
    expect((await fails('topic:delete', { topic: 'ItOrders', confirmName: 'ItOrder' })).code).toBe('CONFLICT');
    expect((await fails('topic:delete', { topic: 'TBW102', confirmName: 'TBW102' })).code).toBe('FORBIDDEN');
    const names = (await ok('topic:list', { includeSystem: true })).topics.map((x) => x.name);
    expect(names).toContain('ItOrders');
    expect(names).not.toContain('bad name!');
  });

  it('topic:delete removes it from the route and the list', async () => {
    await ok('topic:create', { topic: 'ItDoomed', readQueueNums: 1, writeQueueNums: 1 });
    await ok('topic:delete', { topic: 'ItDoomed', confirmName: 'ItDoomed' });
    expect((await ok('topic:list', {})).topics.map((x) => x.name)).not.toContain('ItDoomed');
    expect((await fails('topic:detail', { topic: 'ItDoomed' })).code).toBe('NOT_FOUND');
  });
});

describe('playground and messages', () => {
  const sent: Array<{ msgId: string; uniqKey: string; brokerName: string; queueId: number; queueOffset: number | null }> = [];
  let tailId = '';

  it('playground:tail starts a live tail from the end of each queue', async () => {
    tailId = (await ok('playground:tail', { topic: 'ItOrders', tags: 'TagA || TagB' })).tailId;
    expect(tailId).toMatch(/^t[0-9a-f]+$/);
  });

  it('playground:send stores messages with tags, keys, properties and a unique key, round robin over queues', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await ok('playground:send', {
        topic: 'ItOrders', tags: i % 3 === 0 ? 'TagC' : i % 2 ? 'TagA' : 'TagB', keys: [`key-${i}`, 'shared'],
        properties: { seq: String(i) }, body: JSON.stringify({ i }),
      });
      expect(r.status).toBe('SEND_OK');
      expect(r.queueOffset).not.toBeNull();
      sent.push(r);
    }
    expect(new Set(sent.map((s) => `${s.brokerName}/${s.queueId}`)).size).toBe(6);
    const b = await ok('playground:send', { topic: 'ItOrders', body: Buffer.from([0, 255, 1]).toString('base64'), bodyEncoding: 'base64' });
    expect(b.status).toBe('SEND_OK');
    const d = await ok('topic:detail', { topic: 'ItOrders' });
    expect(d.totalMessages).toBe(13);
    expect(d.queues.every((q) => q.lastStoreTime !== null && q.lastStoreTime > 0)).toBe(true);
  });

  it('the live tail pushes the new messages that match its tags, then stops', async () => {
    await waitFor(() => events.filter((e) => e.tailId === tailId).flatMap((e) => e.messages).length >= 8, 5000, 'tail events');
    const got = events.filter((e) => e.tailId === tailId).flatMap((e) => e.messages);
    expect(got).toHaveLength(8); // TagA and TagB only; TagC and the untagged message are filtered out
    expect(got.every((m) => m.tags === 'TagA' || m.tags === 'TagB')).toBe(true);
    await ok('playground:tail-stop', { tailId });
    expect(service.tails.size).toBe(0);
    expect((await fails('playground:tail-stop', { tailId })).code).toBe('NOT_FOUND');
  });

  it('playground:send refuses reserved properties and a missing topic', async () => {
    expect((await fails('playground:send', { topic: 'ItOrders', body: 'x', properties: { UNIQ_KEY: 'x' } })).code).toBe('BAD_REQUEST');
    expect((await fails('playground:send', { topic: 'NoSuchTopic', body: 'x' })).code).toBe('NOT_FOUND');
    expect((await fails('playground:send', { topic: 'ItOrders', body: '!!', bodyEncoding: 'base64' })).code).toBe('BAD_REQUEST');
    expect((await ok('topic:detail', { topic: 'ItOrders' })).totalMessages).toBe(13);
  });

  it('message:browse reads a queue by offset range and says where the next page starts', async () => {
    const first = sent[0]!;
    const page = await ok('message:browse', { topic: 'ItOrders', brokerName: first.brokerName, queueId: first.queueId, fromOffset: 0, count: 1 });
    expect(page.messages).toHaveLength(1);
    expect(page.messages[0]).toMatchObject({ queueOffset: 0, uniqKey: first.uniqKey, msgId: first.msgId, topic: 'ItOrders', preview: '{"i":0}' });
    expect(page.nextOffset).toBe(1);
    expect(page.minOffset).toBe(0);
    expect(page.partial).toBe(false);
    const rest = await ok('message:browse', { topic: 'ItOrders', brokerName: first.brokerName, queueId: first.queueId, fromOffset: 1, count: 100 });
    expect(rest.messages.map((m) => m.queueOffset)).toEqual(Array.from({ length: rest.maxOffset! - 1 }, (_, i) => i + 1));
    expect((await fails('message:browse', { topic: 'ItOrders', brokerName: 'broker-z', queueId: 0, fromOffset: 0 })).code).toBe('NOT_FOUND');
    expect((await fails('message:browse', { topic: 'ItOrders', brokerName: 'broker-a', queueId: 9, fromOffset: 0 })).code).toBe('NOT_FOUND');
  });

  it('message:browse stops on its row budget and reports partial', async () => {
    const first = sent[0]!;
    const r = await ok('message:browse', {
      topic: 'ItOrders', brokerName: first.brokerName, queueId: first.queueId, fromOffset: 0, count: 10, budget: { maxRows: 1, maxMs: 5000 },
    });
    expect(r.messages).toHaveLength(1);
    expect(r.partial).toBe(true);
    expect(r.stoppedBy).toBe('rows');
  });

  it('message:by-id finds a message by its offset id and by its unique key, with body and properties', async () => {
    const s = sent[4]!;
    const byOffset = await ok('message:by-id', { msgId: s.msgId });
    expect(byOffset.via).toBe('offsetId');
    const m = byOffset.messages[0]!;
    expect(Buffer.from(m.body, 'base64').toString()).toBe('{"i":4}');
    expect(m.properties['seq']).toBe('4');
    expect(m.keys).toBe('key-4 shared');
    const byKey = await ok('message:by-id', { topic: 'ItOrders', msgId: s.uniqKey });
    expect(byKey.via).toBe('uniqueKey');
    expect(byKey.messages.map((x) => x.msgId)).toEqual([s.msgId]);
    expect((await fails('message:by-id', { msgId: s.uniqKey })).code).toBe('NOT_FOUND');
    // An id that decodes to an address outside the cluster is never contacted.
    expect((await fails('message:by-id', { msgId: '0A0000010000270F0000000000000000' })).code).toBe('NOT_FOUND');
  });

  it('message:by-key returns only messages whose KEYS hold the key', async () => {
    const one = await ok('message:by-key', { topic: 'ItOrders', key: 'key-7' });
    expect(one.messages.map((m) => m.keys)).toEqual(['key-7 shared']);
    const many = await ok('message:by-key', { topic: 'ItOrders', key: 'shared', maxNum: 64 });
    expect(many.messages).toHaveLength(12);
    expect((await ok('message:by-key', { topic: 'ItOrders', key: 'nope' })).messages).toEqual([]);
  });

  it('message:by-time finds what was stored in the range, and reports partial on its budget', async () => {
    const now = Date.now();
    const all = await ok('message:by-time', { topic: 'ItOrders', beginTime: now - 60_000, endTime: now + 1000 });
    expect(all.messages).toHaveLength(13);
    expect(all.partial).toBe(false);
    const capped = await ok('message:by-time', { topic: 'ItOrders', beginTime: now - 60_000, endTime: now + 1000, budget: { maxRows: 5, maxMs: 5000 } });
    expect(capped.messages.length).toBeLessThanOrEqual(6);
    expect(capped.partial).toBe(true);
    expect(capped.stoppedBy).toBe('rows');
    expect((await ok('message:by-time', { topic: 'ItOrders', beginTime: 1000, endTime: 2000 })).messages).toEqual([]);
    expect((await fails('message:by-time', { topic: 'ItOrders', beginTime: 2000, endTime: 1000 })).message).toMatch(/endTime/);
  });
});

describe('consumer groups', () => {
  let consumer: OnsConsumer | null = null;

  afterAll(async () => {
    await consumer?.close();
  });

  it('group:create makes the group on every master; group:list shows its lag', async () => {
    await ok('group:create', { group: 'ItGroup' });
    const list = await ok('group:list', {});
    const g = list.groups.find((x) => x.name === 'ItGroup');
    expect(g).toMatchObject({ system: false, brokers: ['broker-a', 'broker-b'], onlineClients: 0, retryMaxTimes: 16 });
    expect(list.groups.some((x) => x.name === 'TOOLS_CONSUMER')).toBe(false); // system groups hidden by default
    expect((await ok('group:list', { includeSystem: true })).groups.some((x) => x.name === 'TOOLS_CONSUMER')).toBe(true);
  });

  it('group:reset-offset previews, then applies, per-queue offsets', async () => {
    const preview = await ok('group:reset-offset', { group: 'ItGroup', topic: 'ItOrders', target: 'earliest', dryRun: true });
    expect(preview.applied).toBe(false);
    expect(preview.queues).toHaveLength(6);
    expect(preview.queues.every((q) => q.newOffset === 0)).toBe(true);
    const applied = await ok('group:reset-offset', { group: 'ItGroup', topic: 'ItOrders', target: 'earliest' });
    expect(applied.applied).toBe(true);
    let d = await ok('group:detail', { group: 'ItGroup' });
    expect(d.totalLag).toBe(13);
    expect(d.queues.filter((q) => q.topic === 'ItOrders')).toHaveLength(6);
    await ok('group:reset-offset', { group: 'ItGroup', topic: 'ItOrders', target: 'latest' });
    d = await ok('group:detail', { group: 'ItGroup' });
    expect(d.totalLag).toBe(0);
    const back = await ok('group:reset-offset', { group: 'ItGroup', topic: 'ItOrders', target: 'timestamp', timestamp: Date.now() - 120_000 });
    expect(back.queues.reduce((s, q) => s + (q.newOffset ?? 0), 0)).toBe(0);
    expect((await ok('group:list', {})).groups.find((x) => x.name === 'ItGroup')!.totalLag).toBe(13);
    expect((await fails('group:reset-offset', { group: 'ItGroup', topic: 'ItOrders', target: 'timestamp' })).message).toMatch(/timestamp/);
  });

  it('group:detail shows an online ali-ons consumer, its subscription, and lag going to zero', async () => {
    consumer = createConsumer(cluster.namesrvAddr, 'ItGroup', 'it-console');
    consumer.subscribe('ItOrders', '*', async () => undefined);
    await consumer.ready();
    await waitFor(async () => {
      const d = await ok('group:detail', { group: 'ItGroup' });
      return d.online && d.totalLag === 0 && d.queues.filter((q) => q.topic === 'ItOrders').every((q) => q.consumerOffset === q.brokerOffset);
    }, 20_000, 'the consumer to catch up');
    const d = await ok('group:detail', { group: 'ItGroup' });
    // ali-ons subscribes to the group's retry topic too, as every RocketMQ push consumer does.
    expect(d.subscriptions.map((x) => [x.topic, x.expressionType, x.expression])).toEqual([
      ['%RETRY%ItGroup', 'TAG', '*'], ['ItOrders', 'TAG', '*'],
    ]);
    expect(d.clients.length).toBe(1);
    expect(d.messageModel).toBe('CLUSTERING');
    const g = (await ok('group:list', {})).groups.find((x) => x.name === 'ItGroup')!;
    expect(g.onlineClients).toBe(1);
    expect(g.totalLag).toBe(0);
  });

  it('group:delete needs the name typed back, then removes the group', async () => {
    await ok('group:create', { group: 'ItDoomedGroup' });
    expect((await fails('group:delete', { group: 'ItDoomedGroup', confirmName: 'nope' })).code).toBe('CONFLICT');
    await ok('group:delete', { group: 'ItDoomedGroup', confirmName: 'ItDoomedGroup' });
    expect((await ok('group:list', {})).groups.map((g) => g.name)).not.toContain('ItDoomedGroup');
    expect((await fails('group:delete', { group: 'ItDoomedGroup', confirmName: 'ItDoomedGroup' })).code).toBe('NOT_FOUND');
    expect((await fails('group:detail', { group: 'NeverSeen' })).code).toBe('NOT_FOUND');
    expect((await fails('group:create', { group: 'TOOLS_CONSUMER' })).code).toBe('FORBIDDEN');
  });
});

describe('connections', () => {
  it('connection:save / list / test / remove, persisted in NeDB and never returning the secret', async () => {
    expect((await ok('connection:list', {})).map((c) => c.id)).toEqual(['embedded']);
    const saved = await ok('connection:save', { name: 'Mirror', namesrvAddr: ` ${cluster.namesrvAddr} `, accessKey: 'ak', secretKey: 'sk' });
    expect(saved).toMatchObject({ name: 'Mirror', namesrvAddr: cluster.namesrvAddr, kind: 'remote', accessKey: 'ak', hasSecret: true });
    expect(JSON.stringify(await ok('connection:list', {}))).not.toContain('"sk"');
    const test = await ok('connection:test', { id: saved.id });
    expect(test).toMatchObject({ ok: true, clusters: ['DefaultCluster'], brokerCount: 2, error: null });
    // The saved connection works for every other channel: same cluster, different id.
    expect((await ok('topic:list', { connectionId: saved.id })).topics.map((t) => t.name)).toContain('ItOrders');
    const edited = await ok('connection:save', { id: saved.id, name: 'Mirror 2', namesrvAddr: cluster.namesrvAddr });
    expect(edited.hasSecret).toBe(true); // secret kept when not given
    const down = await ok('connection:test', { namesrvAddr: '127.0.0.1:1' });
    expect(down.ok).toBe(false);
    expect(down.error).toMatch(/127\.0\.0\.1:1/);

    // Persisted: a new service on the same data directory sees it.
    await service.connections.store.close();
    const reopened = await ConsoleService.create({ dataDir: dir.path + '/console', embeddedNamesrvAddr: null, mode: 'headless', version: '0' });
    expect(reopened.connections.list().map((c) => c.name)).toEqual(['Mirror 2']);
    await reopened.close();

    await ok('connection:remove', { id: saved.id });
    expect((await ok('connection:list', {})).map((c) => c.id)).toEqual(['embedded']);
    expect((await fails('connection:remove', { id: 'embedded' })).code).toBe('FORBIDDEN');
    expect((await fails('connection:remove', { id: saved.id })).code).toBe('NOT_FOUND');
    expect((await fails('topic:list', { connectionId: saved.id })).code).toBe('NOT_FOUND');
    expect((await fails('connection:save', { name: 'x', namesrvAddr: 'not an address' })).code).toBe('BAD_REQUEST');
  });

  it('a connection to a cluster that is down answers UNREACHABLE, not a crash', async () => {
    const saved = await ok('connection:save', { name: 'Down', namesrvAddr: '127.0.0.1:1' });
    const e = await fails('cluster:overview', { connectionId: saved.id });
    expect(e.code).toBe('UNREACHABLE');
    await ok('connection:remove', { id: saved.id });
  });
});
