/**
 * The console's administration channels against a real embedded cluster (issue 4 item 6, issue 3
 * item 8): the read-only switch refuses every write channel and changes nothing, broker address
 * rewrites send traffic through another address, every write lands in the audit log with who and
 * the result, a reset saves a snapshot that restores the offsets, a SQL92 live tail, the embedded
 * settings, cancellable scans with progress, and the node fault controls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { ConsoleService } from '../../../src-main/console/service.js';
import type { Session } from '../../../src-main/console/dispatch.js';
import type { ChannelMap } from '../../../src-main/console/contract/contract.js';
import { WRITE_CHANNELS, type Channel } from '../../../src-main/console/contract/channels.js';
import type { TailEvent } from '../../../src-main/console/contract/dto.js';
import type { OpProgress } from '../../../src-main/console/contract/admin-dto.js';
import { EMBEDDED_DEFAULTS } from '../../../src-main/console/embedded-settings.js';
import { tempDir, waitFor } from '../../harness/temp-dir.js';

const dir = tempDir('console-admin-it');
let cluster: EmbeddedCluster;
let service: ConsoleService;
let session: Session;
const tailEvents: TailEvent[] = [];
const progress: OpProgress[] = [];

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

async function offsetsOf(group: string, topic: string): Promise<Record<string, number>> {
  const d = await ok('group:detail', { group });
  return Object.fromEntries(d.queues.filter((q) => q.topic === topic).map((q) => [`${q.brokerName}/${q.queueId}`, q.consumerOffset]));
}

beforeAll(async () => {
  cluster = await startCluster({ dataDir: `${dir.path}/cluster`, namesrvPort: 0, failoverTimeoutMs: 0 });
  service = await ConsoleService.create({
    dataDir: `${dir.path}/console`, embeddedNamesrvAddr: cluster.namesrvAddr, mode: 'headless', version: '9.9.9',
    defaultEmbeddedDataDir: `${dir.path}/cluster`,
  });
  service.attachEmbedded(cluster, {
    running: { ...EMBEDDED_DEFAULTS, brokerGroups: [...EMBEDDED_DEFAULTS.brokerGroups], namesrvPort: 0 },
    defaultDataDir: `${dir.path}/cluster`, pinnedByHost: ['namesrvPort', 'dataDir'],
  });
  session = service.openSession((topic, payload) => {
    if (topic === 'playground:tail') tailEvents.push(payload as TailEvent);
    if (topic === 'op:progress') progress.push(payload as OpProgress);
  }, 'tester (integration)');
  await ok('topic:create', { topic: 'AdmTopic', readQueueNums: 2, writeQueueNums: 2 });
  for (let i = 0; i < 12; i++) await ok('playground:send', { topic: 'AdmTopic', body: `m${i}`, properties: { n: String(i) } });
}, 60_000);

afterAll(async () => {
  await service?.close();
  await cluster?.stop();
  dir.remove();
});

describe('read-only connection', () => {
  /** One valid request per write channel; a new write channel fails this test until it has one. */
  const SAMPLES: Record<string, Record<string, unknown>> = {
    'topic:create': { topic: 'RoNewTopic' },
    'topic:delete': { topic: 'AdmTopic', confirmName: 'AdmTopic' },
    'group:reset-offset': { group: 'RoGroup', topic: 'AdmTopic', target: 'earliest' },
    'group:create': { group: 'RoGroup' },
    'group:delete': { group: 'RoGroup', confirmName: 'RoGroup' },
    'playground:send': { topic: 'AdmTopic', body: 'refused' },
    'dlq:resend': { group: 'RoGroup', selection: { kind: 'filter' }, requestId: 'r1', previewToken: 'x.y' },
    'message:resend': { msgId: 'A'.repeat(32), target: 'origin', requestId: 'r2' },
    'tx:resolve': { brokerName: 'broker-a', msgId: 'A'.repeat(32), action: 'commit', confirm: true },
    'tx:recheck': { brokerName: 'broker-a', msgId: 'A'.repeat(32), confirm: true },
    'group:skip-message': { group: 'RoGroup', topic: 'AdmTopic', brokerName: 'broker-a', queueId: 0, expectedOffset: 0, confirm: true },
    'group:offset-restore': { snapshotId: 's1', confirm: true },
    'migration:add-queues': { topic: 'AdmTopic', queuesPerBroker: 8, confirmName: 'AdmTopic' },
    'migration:start': { group: 'RoGroup', topic: 'AdmTopic', requestId: 'r3' },
    'node:stop': { node: 'broker-a-1', confirm: true },
    'node:kill': { node: 'broker-a-1', confirm: true },
    'node:restart': { node: 'broker-a-1', confirm: true },
    'node:promote': { brokerName: 'broker-a', confirm: true },
  };

  it('refuses every write channel with FORBIDDEN and changes nothing; reads and previews still work', async () => {
    const topicsBefore = (await ok('topic:list', {})).topics.map((t) => t.name);
    const totalBefore = (await ok('topic:detail', { topic: 'AdmTopic' })).totalMessages;
    await ok('connection:options-save', { connectionId: 'embedded', readOnly: true });
    expect((await ok('connection:list', {}))[0]).toMatchObject({ id: 'embedded', readOnly: true });
    try {
      // migration:control names a job, not a connection: covered in test/unit/console/dispatch-admin.test.ts.
      const channels = WRITE_CHANNELS.filter((c) => c !== 'migration:control');
      for (const channel of channels) {
        const sample = SAMPLES[channel];
        expect(sample, `a sample request for ${channel}`).toBeDefined();
        const error = await fails(channel, sample);
        expect(error.code, channel).toBe('FORBIDDEN');
        expect(error.message, channel).toMatch(/read-only/);
      }
      // Reads and a reset preview (dryRun) are not writes.
      expect((await ok('topic:detail', { topic: 'AdmTopic' })).totalMessages).toBe(totalBefore);
      const preview = await ok('group:reset-offset', { group: 'RoGroup', topic: 'AdmTopic', target: 'latest', dryRun: true });
      expect(preview.applied).toBe(false);
      expect(preview.snapshotId).toBeNull();
      expect(cluster.nodes().every((n) => n.state === 'running')).toBe(true);
      // The request-code floor: even a path that skipped dispatch cannot send a write.
      const admin = service.connections.get('embedded').admin;
      await expect(admin.createTopic('RoBypass', 1)).rejects.toThrow(/read-only/);
    } finally {
      await ok('connection:options-save', { connectionId: 'embedded', readOnly: false });
    }
    expect((await ok('topic:list', {})).topics.map((t) => t.name)).toEqual(topicsBefore);
    expect((await ok('topic:detail', { topic: 'AdmTopic' })).totalMessages).toBe(totalBefore);
    // The refusals are in the audit log, failed, with who.
    const audit = await ok('audit:list', { limit: 200 });
    const refused = audit.filter((e) => e.error?.includes('read-only'));
    expect(refused.length).toBeGreaterThanOrEqual(WRITE_CHANNELS.length - 1);
    expect(refused.every((e) => e.result === 'failed' && e.actor === 'tester (integration)')).toBe(true);
  });

  it('connection:options-save refuses bad rules and an unknown connection, changing nothing', async () => {
    expect((await fails('connection:options-save', { connectionId: 'embedded', readOnly: true, addressRewrites: [{ from: 'a b', to: 'x' }] })).code).toBe('BAD_REQUEST');
    expect((await fails('connection:options-save', { connectionId: 'embedded', readOnly: true, addressRewrites: [{ from: 'h:99999', to: 'x' }] })).code).toBe('BAD_REQUEST');
    expect((await fails('connection:options-save', { connectionId: 'nosuch', readOnly: true })).code).toBe('NOT_FOUND');
    expect((await ok('connection:list', {}))[0]!.readOnly).toBe(false);
  });
});

describe('broker address rewrites', () => {
  it('sends broker traffic to the rewritten address, and fails clearly when it leads nowhere', async () => {
    const master = cluster.nodes().find((n) => n.brokerName === 'broker-a' && n.role !== 'SLAVE')!;
    const [host, port] = [master.address.slice(0, master.address.lastIndexOf(':')), Number(master.address.slice(master.address.lastIndexOf(':') + 1))];
    let proxied = 0;
    const proxy = net.createServer((client) => {
      proxied++;
      const upstream = net.connect(port, host);
      client.pipe(upstream).pipe(client);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    try {
      await ok('connection:options-save', { connectionId: 'embedded', readOnly: false, addressRewrites: [{ from: master.address, to: `127.0.0.1:${proxyPort}` }] });
      const detail = await ok('topic:detail', { topic: 'AdmTopic' });
      expect(detail.errors).toEqual([]);
      expect(proxied).toBeGreaterThan(0);

      // A rule to a closed port: broker-a's queues cannot be read, and the page is told.
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const deadPort = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      await ok('connection:options-save', { connectionId: 'embedded', readOnly: false, addressRewrites: [{ from: host, to: `127.0.0.1:${deadPort}` }] });
      const browse = await fails('message:browse', { topic: 'AdmTopic', brokerName: 'broker-a', queueId: 0, fromOffset: 0 });
      expect(['UNREACHABLE', 'TIMEOUT']).toContain(browse.code);
    } finally {
      await ok('connection:options-save', { connectionId: 'embedded', readOnly: false, addressRewrites: [] });
      await new Promise<void>((r) => proxy.close(() => r()));
    }
    expect((await ok('message:browse', { topic: 'AdmTopic', brokerName: 'broker-a', queueId: 0, fromOffset: 0 })).messages.length).toBeGreaterThan(0);
  });
});

describe('audit log', () => {
  it('records each write with who, when, what and the result, including failures, without secrets', async () => {
    const before = Date.now();
    await ok('topic:create', { topic: 'AuditTopic' });
    expect((await fails('group:delete', { group: 'NoSuchGroupX', confirmName: 'NoSuchGroupX' })).code).toBe('NOT_FOUND');
    await ok('connection:save', { name: 'audit-remote', namesrvAddr: '127.0.0.1:1', accessKey: 'AK', secretKey: 'very-secret' });
    const entries = await ok('audit:list', { limit: 50 });
    const created = entries.find((e) => e.channel === 'topic:create' && e.target === 'AuditTopic')!;
    expect(created).toMatchObject({ action: 'topic-create', result: 'ok', error: null, actor: 'tester (integration)', connectionId: 'embedded' });
    expect(created.at).toBeGreaterThanOrEqual(before);
    const failed = entries.find((e) => e.channel === 'group:delete' && e.target === 'NoSuchGroupX')!;
    expect(failed).toMatchObject({ action: 'group-delete', result: 'failed' });
    expect(failed.error).toMatch(/NOT_FOUND/);
    const saved = entries.find((e) => e.channel === 'connection:save')!;
    expect(saved.detail).not.toContain('very-secret');
    // Reads are not audited.
    expect(entries.some((e) => e.channel === 'topic:list' || e.channel === 'audit:list')).toBe(false);
  });
});

describe('offset snapshot before every reset', () => {
  it('saves the offsets before a reset and restores them in one call', async () => {
    const started = Date.now();
    await ok('group:create', { group: 'SnapGroup' });
    const toLatest = await ok('group:reset-offset', { group: 'SnapGroup', topic: 'AdmTopic', target: 'latest' });
    expect(toLatest.applied).toBe(true);
    expect(toLatest.snapshotId).toMatch(/^s/);
    const atLatest = await offsetsOf('SnapGroup', 'AdmTopic');
    expect(Object.values(atLatest).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(12);

    const toEarliest = await ok('group:reset-offset', { group: 'SnapGroup', topic: 'AdmTopic', target: 'earliest' });
    expect(Object.values(await offsetsOf('SnapGroup', 'AdmTopic')).every((o) => o === 0)).toBe(true);
    const list = await ok('group:offset-snapshots', { group: 'SnapGroup' });
    expect(list.snapshots[0]!.id).toBe(toEarliest.snapshotId);
    expect(list.snapshots[0]!.reason).toMatch(/earliest/);
    expect(Object.fromEntries(list.snapshots[0]!.queues.map((q) => [`${q.brokerName}/${q.queueId}`, q.offset]))).toEqual(atLatest);

    const restored = await ok('group:offset-restore', { snapshotId: toEarliest.snapshotId!, confirm: true });
    expect(restored.snapshotId).toBe(toEarliest.snapshotId);
    expect(await offsetsOf('SnapGroup', 'AdmTopic')).toEqual(atLatest);
    expect((await ok('group:offset-snapshots', { group: 'SnapGroup' })).snapshots[0]!.restoredAt).not.toBeNull();
    const audit = await ok('audit:list', { limit: 20 });
    expect(audit.some((e) => e.action === 'offset-restore' && e.result === 'ok' && e.actor === 'tester (integration)')).toBe(true);
    // The handler's own entry, stamped with who, and not a second generic one.
    expect(audit.filter((e) => e.channel === 'group:offset-restore' && e.at >= started)).toHaveLength(1);
  });

  it('refuses a bad snapshot id or a missing confirm, changing nothing', async () => {
    const before = await offsetsOf('SnapGroup', 'AdmTopic');
    expect((await fails('group:offset-restore', { snapshotId: 'nope', confirm: true })).code).toBe('NOT_FOUND');
    expect((await fails('group:offset-restore', { snapshotId: 'nope' })).code).toBe('BAD_REQUEST');
    expect((await fails('group:offset-snapshots', { group: 'bad group' })).code).toBe('BAD_REQUEST');
    expect(await offsetsOf('SnapGroup', 'AdmTopic')).toEqual(before);
  });
});

describe('live tail with a SQL92 filter', () => {
  it('pushes only the messages whose properties match, and refuses a bad expression', async () => {
    const bad = await fails('playground:tail', { topic: 'AdmTopic', filterType: 'SQL92', sql: 'n >' });
    expect(bad.code).toBe('BAD_REQUEST');
    expect(bad.message).toMatch(/SQL92/);
    expect((await fails('playground:tail', { topic: 'AdmTopic', filterType: 'SQL92' })).code).toBe('BAD_REQUEST');
    const { tailId } = await ok('playground:tail', { topic: 'AdmTopic', filterType: 'SQL92', sql: "n BETWEEN 100 AND 102 AND color = 'red'" });
    for (const [n, color] of [[100, 'red'], [101, 'blue'], [102, 'red'], [103, 'red']] as const) {
      await ok('playground:send', { topic: 'AdmTopic', body: `sql-${n}`, properties: { n: String(n), color } });
    }
    await waitFor(() => tailEvents.filter((e) => e.tailId === tailId).flatMap((e) => e.messages).length >= 2, 10_000, 'the matching tail messages');
    await new Promise((r) => setTimeout(r, 700));
    await ok('playground:tail-stop', { tailId });
    const got = tailEvents.filter((e) => e.tailId === tailId).flatMap((e) => e.messages).map((m) => m.preview).sort();
    expect(got).toEqual(['sql-100', 'sql-102']);
  });
});

describe('embedded cluster settings', () => {
  it('saves valid settings, refuses invalid ones without changing anything, and says a restart is needed', async () => {
    const initial = await ok('settings:embedded-get', {});
    expect(initial.settings).toEqual(EMBEDDED_DEFAULTS);
    expect(initial.restartNeeded).toBe(false);
    expect(initial.pinnedByHost).toEqual(['namesrvPort', 'dataDir']);
    const next = { ...EMBEDDED_DEFAULTS, brokerGroups: ['broker-a', 'broker-b', 'broker-c'], flushMode: 'SYNC' as const, dataDir: '/var/tmp/mqdesk-x' };
    const saved = await ok('settings:embedded-save', { settings: next });
    expect(saved.settings).toEqual(next);
    expect(saved.restartNeeded).toBe(true);
    for (const bad of [
      { ...next, namesrvPort: 70000 }, { ...next, dataDir: 'relative/dir' }, { ...next, dataDir: '/a/../etc' },
      { ...next, brokerGroups: [] }, { ...next, brokerGroups: ['a', 'a'] }, { ...next, flushMode: 'NEVER' }, { ...next, extra: 1 },
      { ...next, namesrvPort: 10921 },
    ]) {
      expect((await fails('settings:embedded-save', { settings: bad })).code, JSON.stringify(bad)).toBe('BAD_REQUEST');
    }
    expect((await ok('settings:embedded-get', {})).settings).toEqual(next);
    const audit = await ok('audit:list', { limit: 20 });
    expect(audit.find((e) => e.channel === 'settings:embedded-save')?.result).toBe('ok');
  });
});

describe('long operations: progress and cancel', () => {
  it('a by-time scan with an opId reports progress per queue', async () => {
    progress.length = 0;
    const r = await ok('message:by-time', { topic: 'AdmTopic', beginTime: 0, endTime: Date.now() + 1000, opId: 'scan1' });
    expect(r.stoppedBy).toBeNull();
    const mine = progress.filter((p) => p.opId === 'scan1');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[mine.length - 1]).toMatchObject({ done: 4, total: 4 });
  });

  it('op:cancel stops a running scan, which returns what it had, marked cancelled', async () => {
    const running = service.dispatch('message:by-time', { topic: 'AdmTopic', beginTime: 0, endTime: Date.now() + 1000, opId: 'scan2' }, session);
    expect(await ok('op:cancel', { opId: 'scan2' })).toEqual({ cancelled: true });
    const r = await running;
    expect(r.ok).toBe(true);
    const result = (r as { result: ChannelMap['message:by-time']['res'] }).result;
    expect(result.stoppedBy).toBe('cancelled');
    expect(result.partial).toBe(true);
    expect(await ok('op:cancel', { opId: 'scan2' })).toEqual({ cancelled: false });
    expect((await fails('op:cancel', { opId: 'bad id!' })).code).toBe('BAD_REQUEST');
  });
});

describe('embedded node controls (issue 3 item 8)', () => {
  it('cluster:nodes lists nodes, NameServer health and events; other connections have none', async () => {
    const n = await ok('cluster:nodes', {});
    expect(n.available).toBe(true);
    expect(n.nodes.map((x) => x.name).sort()).toEqual(['broker-a-0', 'broker-a-1', 'broker-b-0', 'broker-b-1']);
    expect(n.namesrvs).toEqual([{ index: 0, address: cluster.namesrvAddr, state: 'running', reachable: true }]);
    const remote = (await ok('connection:list', {})).find((c) => c.kind === 'remote')!;
    expect((await ok('cluster:nodes', { connectionId: remote.id })).available).toBe(false);
    expect((await fails('node:stop', { connectionId: remote.id, node: 'broker-a-1', confirm: true })).code).toBe('FORBIDDEN');
  });

  it('refuses bad arguments with a clear error and touches no node', async () => {
    expect((await fails('node:stop', { node: 'broker-a-1' })).code).toBe('BAD_REQUEST');
    expect((await fails('node:stop', { node: '../x', confirm: true })).code).toBe('BAD_REQUEST');
    const unknown = await fails('node:kill', { node: 'broker-z-9', confirm: true });
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toMatch(/broker-a-0/);
    expect((await fails('node:promote', { brokerName: 'broker-a', node: 'broker-b-1', confirm: true })).code).toBe('BAD_REQUEST');
    expect((await fails('node:promote', { brokerName: 'broker-a', node: 'broker-a-0', confirm: true })).code).toBe('CONFLICT');
    expect(cluster.nodes().every((x) => x.state === 'running')).toBe(true);
  });

  it('stops and restarts a slave, kills and restarts it, with events and audit entries', async () => {
    expect(await ok('node:stop', { node: 'broker-b-1', confirm: true })).toMatchObject({ node: 'broker-b-1', state: 'stopped' });
    expect((await fails('node:stop', { node: 'broker-b-1', confirm: true })).code).toBe('CONFLICT');
    expect(await ok('node:restart', { node: 'broker-b-1', confirm: true })).toMatchObject({ state: 'running', role: 'SLAVE' });
    expect(await ok('node:kill', { node: 'broker-b-1', confirm: true })).toMatchObject({ state: 'killed' });
    expect(await ok('node:restart', { node: 'broker-b-1', confirm: true })).toMatchObject({ state: 'running' });
    const n = await ok('cluster:nodes', {});
    const kinds = n.events.filter((e) => e.node === 'broker-b-1').map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['node-stopped', 'node-killed']));
    const audit = await ok('audit:list', { limit: 50 });
    for (const action of ['node-stop', 'node-kill', 'node-restart']) {
      expect(audit.some((e) => e.action === action && e.target === 'broker-b-1' && e.result === 'ok'), action).toBe(true);
    }
    expect(audit.some((e) => e.action === 'node-stop' && e.result === 'failed')).toBe(true);
  });

  it('promotes the slave of broker-a (switchover) and the console keeps browsing', async () => {
    await waitFor(() => cluster.nodes().find((n) => n.name === 'broker-a-1')?.ha?.client?.state === 'STREAMING', 10_000, 'broker-a-1 streaming');
    const r = await ok('node:promote', { brokerName: 'broker-a', confirm: true });
    expect(r).toMatchObject({ node: 'broker-a-1', state: 'running' });
    expect(r.role).not.toBe('SLAVE');
    await waitFor(async () => (await ok('topic:detail', { topic: 'AdmTopic' })).errors.length === 0, 15_000, 'topic detail after the switchover');
    const nodes = (await ok('cluster:nodes', {})).nodes;
    expect(nodes.find((x) => x.name === 'broker-a-0')?.role).toBe('SLAVE');
    expect((await ok('cluster:nodes', {})).events.some((e) => e.kind === 'promoted')).toBe(true);
  });
});
