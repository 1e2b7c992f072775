/**
 * The local audit log of every write the console makes: who (the OS user and the page's host),
 * when, what (channel, target, the request without secrets or bodies) and the result. dispatch.ts
 * runs each audited channel inside an audit scope; a handler that records its own entry (with a
 * richer detail: a snapshot id, a transaction id) gets the actor and channel stamped on it, and a
 * handler that records none gets one generic entry after it returns or throws. A refusal (read-only
 * connection) is recorded as a failed write with its reason. Entries go to the ops audit table
 * (NeDB, `ops/audit.db`), read back with `audit:list`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { userInfo } from 'node:os';
import type { Channel } from './contract/channels.js';
import { WRITE_CHANNELS } from './contract/channels.js';
import type { AuditAction, AuditEntry } from './contract/ops-dto.js';

export interface AuditScope {
  channel: Channel;
  actor: string;
  /** Entries the handler recorded itself. */
  recorded: number;
}

const scopes = new AsyncLocalStorage<AuditScope>();

/** Channels whose calls are audited: every write channel, plus the console's own saved state. */
export const AUDITED_CHANNELS: ReadonlySet<Channel> = new Set<Channel>([
  ...WRITE_CHANNELS,
  'connection:save',
  'connection:remove',
  'connection:options-save',
  'settings:embedded-save',
]);

/** Audit action per channel; a write channel missing here is logged as 'write' with its channel. */
const ACTIONS: Partial<Record<Channel, AuditAction>> = {
  'topic:create': 'topic-create',
  'topic:delete': 'topic-delete',
  'group:create': 'group-create',
  'group:delete': 'group-delete',
  'group:reset-offset': 'offset-reset',
  'group:skip-message': 'offset-skip',
  'group:offset-restore': 'offset-restore',
  'playground:send': 'message-send',
  'dlq:resend': 'dlq-resend',
  'message:resend': 'message-resend',
  'tx:resolve': 'tx-commit',
  'tx:recheck': 'tx-recheck',
  'migration:add-queues': 'topic-add-queues',
  'migration:start': 'migration-start',
  'migration:control': 'migration-cancel',
  'connection:save': 'connection-save',
  'connection:remove': 'connection-remove',
  'connection:options-save': 'connection-options',
  'settings:embedded-save': 'embedded-settings',
  'node:stop': 'node-stop',
  'node:kill': 'node-kill',
  'node:restart': 'node-restart',
  'node:promote': 'node-promote',
};

export function auditActionOf(channel: Channel, req: Record<string, unknown>): AuditAction {
  if (channel === 'tx:resolve') return req['action'] === 'rollback' ? 'tx-rollback' : 'tx-commit';
  if (channel === 'migration:control' && req['action'] === 'restore') return 'migration-restore';
  return ACTIONS[channel] ?? 'write';
}

/** Fields never written to the audit log (secrets, message bodies, proofs). */
const HIDDEN_FIELDS = new Set(['secretKey', 'body', 'previewToken', 'confirm', 'confirmName', 'opId', 'requestId']);
const MAX_DETAIL = 400;

/** What the write acted on: the first of these fields the request has. */
export function auditTarget(req: Record<string, unknown>): string {
  for (const key of ['node', 'topic', 'group', 'brokerName', 'msgId', 'snapshotId', 'jobId', 'name', 'id', 'connectionId']) {
    const v = req[key];
    if (typeof v === 'string' && v.length > 0) return v.slice(0, 200);
  }
  return '';
}

/** The request as compact JSON without secrets and bodies, capped. */
export function auditDetail(req: Record<string, unknown>): string {
  const shown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req)) {
    if (HIDDEN_FIELDS.has(k) || v === undefined) continue;
    shown[k] = v;
  }
  if (typeof req['body'] === 'string') shown['bodyChars'] = (req['body'] as string).length;
  const text = JSON.stringify(shown);
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}

/** The OS user running the host, once. */
let osUser: string | null = null;
export function localUser(): string {
  if (osUser === null) {
    try {
      osUser = userInfo().username || 'unknown';
    } catch {
      osUser = 'unknown';
    }
  }
  return osUser;
}

export function currentAuditScope(): AuditScope | undefined {
  return scopes.getStore();
}

export function runInAuditScope<T>(scope: AuditScope, fn: () => Promise<T>): Promise<T> {
  return scopes.run(scope, fn);
}

type RecordAudit = (entry: Omit<AuditEntry, 'id' | 'at'>) => Promise<AuditEntry>;

/**
 * Wraps the ops audit writer so entries recorded inside a scope carry its actor and channel and
 * count as the call's own entry. Background steps (a job's later audit) keep the scope they
 * started in, which names who started them.
 */
export function stampingAuditWriter(record: RecordAudit): RecordAudit {
  return (entry) => {
    const scope = scopes.getStore();
    if (!scope) return record(entry);
    scope.recorded++;
    return record({ ...entry, actor: entry.actor ?? scope.actor, channel: entry.channel ?? scope.channel });
  };
}
