/**
 * Units of the console's administration (issue 4 item 6): broker address rewrites and the
 * read-only request-code floor in the remoting client, the read-only and audit choke point in
 * dispatch, cancellable operations, the embedded settings' validation, and audit redaction.
 */
import { describe, expect, it, vi } from 'vitest';
import net from 'node:net';
import { ConsoleRemotingClient, ReadOnlyRefusal, WRITE_REQUEST_CODES, rewriteAddress } from '../../../src-main/console/console-client.js';
import { createRequest } from '../../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { createDispatcher, type ConsoleContext, type Handlers, type Session } from '../../../src-main/console/dispatch.js';
import { CHANNELS, WRITE_CHANNELS } from '../../../src-main/console/contract/channels.js';
import { OperationRegistry } from '../../../src-main/console/operations.js';
import { auditDetail, auditTarget, stampingAuditWriter, runInAuditScope } from '../../../src-main/console/audit.js';
import { EMBEDDED_DEFAULTS, sameSettings, sanitizeSettings, toClusterOptions } from '../../../src-main/console/embedded-settings.js';
import { adminSchemas, embeddedSettings } from '../../../src-main/console/contract/admin-schemas.js';
import { schemas } from '../../../src-main/console/contract/schemas.js';
import type { AuditEntry } from '../../../src-main/console/contract/ops-dto.js';
import { compileTailSql } from '../../../src-main/console/tail.js';

describe('broker address rewrites', () => {
  const rules = [
    { from: '172.17.0.2:10911', to: '127.0.0.1:20911' },
    { from: '172.17.0.2', to: 'localhost' },
    { from: 'broker.internal:10911', to: '10.0.0.5' },
  ];
  it('rewrites host:port exactly, then a host for any port (keeping the port), first rule first', () => {
    expect(rewriteAddress('172.17.0.2:10911', rules)).toBe('127.0.0.1:20911');
    expect(rewriteAddress('172.17.0.2:10921', rules)).toBe('localhost:10921');
    expect(rewriteAddress('BROKER.internal:10911', rules)).toBe('10.0.0.5:10911');
    expect(rewriteAddress('broker.internal:10912', rules)).toBe('broker.internal:10912');
    expect(rewriteAddress('10.1.1.1:9876', rules)).toBe('10.1.1.1:9876');
    expect(rewriteAddress('10.1.1.1:9876', [])).toBe('10.1.1.1:9876');
  });

  it('connects to the rewritten address', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    let accepted = 0;
    server.on('connection', () => accepted++);
    const client = new ConsoleRemotingClient({ connectTimeoutMs: 500 }, {
      readOnly: () => false, rewrites: () => [{ from: '203.0.113.9:10911', to: `127.0.0.1:${port}` }], connectionName: 'c',
    });
    await client.getConnection('203.0.113.9:10911').catch(() => undefined);
    client.close();
    await new Promise<void>((r) => server.close(() => r()));
    expect(accepted).toBe(1);
  });
});

describe('read-only floor in the remoting client', () => {
  it('refuses every write request code before connecting; reads go through', async () => {
    let readOnly = true;
    const client = new ConsoleRemotingClient({ connectTimeoutMs: 200 }, { readOnly: () => readOnly, rewrites: () => [], connectionName: 'Prod' });
    const connect = vi.spyOn(client, 'getConnection');
    for (const code of WRITE_REQUEST_CODES) {
      const error = await client.invoke('127.0.0.1:1', createRequest(code)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReadOnlyRefusal);
      expect((error as ReadOnlyRefusal).code).toBe('FORBIDDEN');
      expect((error as Error).message).toMatch(/"Prod" is read-only/);
      await expect(client.invokeOneway('127.0.0.1:1', createRequest(code))).rejects.toBeInstanceOf(ReadOnlyRefusal);
    }
    expect(connect).not.toHaveBeenCalled();
    // A read is sent (and fails on the closed port, which shows it got as far as connecting).
    await expect(client.invoke('127.0.0.1:1', createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC))).rejects.not.toBeInstanceOf(ReadOnlyRefusal);
    expect(connect).toHaveBeenCalledTimes(1);
    // Switching read-only off takes effect at once.
    readOnly = false;
    await expect(client.invoke('127.0.0.1:1', createRequest(RequestCode.SEND_MESSAGE_V2))).rejects.not.toBeInstanceOf(ReadOnlyRefusal);
    client.close();
  });

  it('lists the codes that change a cluster and none that only read', () => {
    for (const code of [RequestCode.SEND_MESSAGE_V2, RequestCode.UPDATE_AND_CREATE_TOPIC, RequestCode.UPDATE_CONSUMER_OFFSET, RequestCode.END_TRANSACTION,
      RequestCode.DELETE_SUBSCRIPTIONGROUP, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET]) expect(WRITE_REQUEST_CODES.has(code)).toBe(true);
    for (const code of [RequestCode.PULL_MESSAGE, RequestCode.QUERY_MESSAGE, RequestCode.VIEW_MESSAGE_BY_ID, RequestCode.GET_CONSUME_STATS,
      RequestCode.GET_BROKER_CLUSTER_INFO, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP]) expect(WRITE_REQUEST_CODES.has(code)).toBe(false);
  });
});

describe('dispatch: read-only and audit choke point', () => {
  function setup(readOnlyIds: string[], handlerImpl?: Partial<Handlers>) {
    const audit: AuditEntry[] = [];
    const record = async (e: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> => {
      const full = { ...e, id: `a${audit.length}`, at: Date.now() };
      audit.push(full);
      return full;
    };
    const ops = { recordAudit: stampingAuditWriter(record), migrations: { get: (id: string) => {
      if (id === 'm-ro') return { connectionId: 'ro' };
      throw new Error('no job');
    } } };
    const context = {
      connections: { isReadOnly: (id: string) => readOnlyIds.includes(id), nameOf: (id: string) => `conn ${id}` },
      tails: {}, ops, operations: new OperationRegistry(),
      appInfo: () => ({ version: '1', mode: 'headless', namesrvAddr: null }),
    } as unknown as ConsoleContext;
    const calls: string[] = [];
    const all = Object.fromEntries(CHANNELS.map((c) => [c, vi.fn(async () => {
      calls.push(c);
      return { ok: true };
    })])) as unknown as Handlers;
    const dispatch = createDispatcher({ ...all, ...handlerImpl }, context, () => undefined);
    const session: Session = { id: 's', actor: 'alice (desktop)', emit: () => undefined };
    return { dispatch, audit, calls, session, record };
  }

  it('refuses a write on a read-only connection before the handler, and audits the refusal', async () => {
    const { dispatch, audit, calls, session } = setup(['ro']);
    const r = await dispatch('topic:create', { connectionId: 'ro', topic: 'T' }, session);
    expect(r).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: 'Connection "conn ro" is read-only: topic:create was refused and nothing was changed' } });
    expect(calls).toEqual([]);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'topic-create', connectionId: 'ro', target: 'T', result: 'failed', actor: 'alice (desktop)', channel: 'topic:create' });
  });

  it('finds the connection of migration:control through its job', async () => {
    const { dispatch, calls, session } = setup(['ro']);
    const r = await dispatch('migration:control', { jobId: 'm-ro', action: 'resume' }, session);
    expect(r.ok).toBe(false);
    expect((r as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect(calls).toEqual([]);
  });

  it('every write channel either carries a connectionId or is resolved through its job', () => {
    for (const c of WRITE_CHANNELS) {
      const shape = (schemas as Record<string, unknown>)[c] ?? (adminSchemas as Record<string, unknown>)[c];
      const text = JSON.stringify(Object.keys(((shape as { shape?: object })?.shape ?? {})));
      if (c === 'migration:control') continue;
      if (shape) expect(text, c).toContain('connectionId');
    }
  });

  it('lets previews (dryRun) and reads through on a read-only connection, unaudited', async () => {
    const { dispatch, audit, calls, session } = setup(['ro']);
    expect((await dispatch('group:reset-offset', { connectionId: 'ro', group: 'G', topic: 'T', target: 'latest', dryRun: true }, session)).ok).toBe(true);
    expect((await dispatch('topic:list', { connectionId: 'ro' }, session)).ok).toBe(true);
    expect(calls).toEqual(['group:reset-offset', 'topic:list']);
    expect(audit).toEqual([]);
  });

  it('writes one generic entry for a write whose handler records none, and none more when it records its own', async () => {
    const { dispatch, audit, session, record } = setup([], {
      'group:offset-restore': async () => {
        await stampingAuditWriter(record)({ action: 'offset-restore', connectionId: 'c', target: 'G@T', detail: 'snapshot s1', result: 'ok', error: null });
        return { snapshotId: 's1', queues: [] };
      },
      'topic:delete': async () => {
        throw new Error('boom');
      },
    });
    await dispatch('topic:create', { connectionId: 'c', topic: 'T' }, session);
    await dispatch('group:offset-restore', { connectionId: 'c', snapshotId: 's1', confirm: true }, session);
    await dispatch('topic:delete', { connectionId: 'c', topic: 'T', confirmName: 'T' }, session);
    expect(audit.map((e) => [e.channel, e.action, e.result, e.actor])).toEqual([
      ['topic:create', 'topic-create', 'ok', 'alice (desktop)'],
      ['group:offset-restore', 'offset-restore', 'ok', 'alice (desktop)'],
      ['topic:delete', 'topic-delete', 'failed', 'alice (desktop)'],
    ]);
    expect(audit[2]!.error).toMatch(/^INTERNAL/);
  });

  it('does not audit a request that failed its schema (nothing was attempted)', async () => {
    const { dispatch, audit, session } = setup([]);
    expect((await dispatch('topic:create', { topic: 'bad name' }, session)).ok).toBe(false);
    expect(audit).toEqual([]);
  });
});

describe('audit detail', () => {
  it('drops secrets, bodies and proofs, keeps the rest, and caps the length', () => {
    const detail = auditDetail({ name: 'n', namesrvAddr: 'h:1', accessKey: 'AK', secretKey: 'SECRET', body: 'x'.repeat(50), previewToken: 'tok', confirm: true });
    expect(detail).not.toMatch(/SECRET|tok|xxxxx/);
    expect(JSON.parse(detail)).toEqual({ name: 'n', namesrvAddr: 'h:1', accessKey: 'AK', bodyChars: 50 });
    expect(auditDetail({ topic: 'T'.repeat(1000) }).length).toBeLessThanOrEqual(401);
    expect(auditTarget({ connectionId: 'c', topic: 'T', group: 'G' })).toBe('T');
    expect(auditTarget({ connectionId: 'c', node: 'broker-a-0' })).toBe('broker-a-0');
  });

  it('stamps entries recorded inside a scope with its actor and channel', async () => {
    const seen: Array<Omit<AuditEntry, 'id' | 'at'>> = [];
    const writer = stampingAuditWriter(async (e) => {
      seen.push(e);
      return { ...e, id: 'x', at: 1 };
    });
    const scope = { channel: 'tx:resolve' as const, actor: 'bob', recorded: 0 };
    await runInAuditScope(scope, () => writer({ action: 'tx-commit', connectionId: 'c', target: 't', detail: '', result: 'ok', error: null }));
    await writer({ action: 'migration-start', connectionId: 'c', target: 't', detail: '', result: 'ok', error: null });
    expect(scope.recorded).toBe(1);
    expect(seen[0]).toMatchObject({ actor: 'bob', channel: 'tx:resolve' });
    expect(seen[1]!.actor).toBeUndefined();
  });
});

describe('operations: progress and cancel', () => {
  it('throttles progress events, delivers the last one, and cancels by page and id', async () => {
    const events: unknown[] = [];
    const session: Session = { id: 'p1', emit: (_t, p) => events.push(p) };
    const registry = new OperationRegistry();
    const reg = registry.begin(session, 'o1')!;
    expect(registry.begin(session, 'o1')).toBeNull();
    for (let i = 1; i <= 100; i++) reg.op.progress(i, 100, `q${i}`);
    expect(events.length).toBeLessThan(5);
    expect(registry.cancel('other-page', 'o1')).toBe(false);
    expect(reg.op.signal.aborted).toBe(false);
    expect(registry.cancel('p1', 'o1')).toBe(true);
    expect(reg.op.signal.aborted).toBe(true);
    reg.end();
    expect(events[events.length - 1]).toEqual({ opId: 'o1', done: 100, total: 100, step: 'q100' });
    expect(registry.size).toBe(0);
    const again = registry.begin(session, 'o2')!;
    registry.cancelSession('p1');
    expect(again.op.signal.aborted).toBe(true);
    again.end();
  });
});

describe('embedded settings', () => {
  const valid = { ...EMBEDDED_DEFAULTS, brokerGroups: ['broker-a'] };

  it('accepts the defaults and valid values; refuses bad ports, paths, names and topology', () => {
    expect(embeddedSettings.safeParse(EMBEDDED_DEFAULTS).success).toBe(true);
    expect(embeddedSettings.safeParse({ ...valid, namesrvPort: 0, dataDir: 'C:\\MQDesk\\data' }).success).toBe(true);
    for (const bad of [
      { ...valid, namesrvPort: -1 }, { ...valid, namesrvPort: 80 }, { ...valid, namesrvPort: 10915 }, { ...valid, brokerBasePort: 65001 },
      { ...valid, dataDir: 'data' }, { ...valid, dataDir: '/x/../y' }, { ...valid, dataDir: '/x\u0000y' }, { ...valid, brokerGroups: ['bad name'] },
      { ...valid, slavesPerGroup: 3 }, { ...valid, namesrvCount: 0 }, { ...valid, replicationMode: 'FAST' },
    ]) expect(embeddedSettings.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it('keeps each valid field of a damaged document and defaults the others', () => {
    expect(sanitizeSettings(null)).toEqual(EMBEDDED_DEFAULTS);
    expect(sanitizeSettings({ ...valid, flushMode: 'SYNC', namesrvPort: 'nine', dataDir: 42, junk: 1 }))
      .toEqual({ ...valid, flushMode: 'SYNC', namesrvPort: EMBEDDED_DEFAULTS.namesrvPort, dataDir: '' });
  });

  it('maps to cluster options and compares ignoring pinned fields', () => {
    expect(toClusterOptions({ ...valid, dataDir: '' }, '/default')).toMatchObject({ dataDir: '/default', brokerGroups: ['broker-a'], flushMode: 'ASYNC' });
    expect(toClusterOptions({ ...valid, dataDir: '/mine' }, '/default').dataDir).toBe('/mine');
    expect(sameSettings(valid, { ...valid, startOnLaunch: false })).toBe(true);
    expect(sameSettings(valid, { ...valid, namesrvPort: 0 })).toBe(false);
    expect(sameSettings(valid, { ...valid, namesrvPort: 0 }, ['namesrvPort'])).toBe(true);
  });
});

describe('tail and rewrite schemas', () => {
  it('needs a SQL92 expression for a SQL92 tail, and parses it with a clear error', () => {
    expect(schemas['playground:tail'].safeParse({ topic: 'T', filterType: 'SQL92' }).success).toBe(false);
    expect(schemas['playground:tail'].safeParse({ topic: 'T', filterType: 'SQL92', sql: 'a > 1' }).success).toBe(true);
    expect(() => compileTailSql("a > 1 AND b = 'x'")).not.toThrow();
    expect(() => compileTailSql('a >')).toThrow(/SQL92 filter/);
  });

  it('takes host or host:port rules, at most 32', () => {
    const parse = (rules: unknown) => adminSchemas['connection:options-save'].safeParse({ readOnly: false, addressRewrites: rules }).success;
    expect(parse([{ from: '172.17.0.2:10911', to: '127.0.0.1:10911' }, { from: 'broker-1', to: '[::1]' }])).toBe(true);
    expect(parse([{ from: 'a b', to: 'x' }])).toBe(false);
    expect(parse([{ from: 'h:0', to: 'x' }])).toBe(false);
    expect(parse([{ from: 'h', to: 'x', extra: 1 }])).toBe(false);
    expect(parse(Array.from({ length: 33 }, () => ({ from: 'h', to: 'x' })))).toBe(false);
  });
});
