/**
 * The one door into the console service for both transports: parse the request with the
 * channel's schema, refuse a write on a read-only connection, call its handler (inside an audit
 * scope for writes, with a cancel signal and progress reporter when the request has an `opId`),
 * and turn every failure into `{ code, message }` with no stack and no file path (RedisInsight
 * wrapErrorSensitiveData). Details are logged here, on the host.
 */
import type { z } from 'zod';
import { AdminError } from '../remoting/admin/mq-admin.js';
import { RemotingConnectionError, RemotingTimeoutError } from '../remoting/remoting-connection.js';
import { ResponseCode } from '../remoting/response-code.js';
import { WRITE_CHANNELS, isChannel, type Channel, type EventTopic } from './contract/channels.js';
import { CONTRACT, type ParsedRequestOf, type ResponseOf, type Events } from './contract/contract.js';
import { ConsoleError, type ConsoleErrorBody, type DispatchResult } from './contract/errors.js';
import type { ConnectionManager } from './connection.js';
import type { TailManager } from './tail.js';
import type { AppInfo } from './contract/dto.js';
import type { OpsServices } from './ops/ops-services.js';
import { AUDITED_CHANNELS, auditActionOf, auditDetail, auditTarget, localUser, runInAuditScope, type AuditScope } from './audit.js';
import type { OperationRegistry, RunningOp } from './operations.js';
import type { EmbeddedControl } from './embedded-control.js';
import type { EmbeddedSettingsStore } from './embedded-settings.js';
import type { EmbeddedSettingsValue } from './contract/admin-dto.js';

/** One page (a WebSocket, an Electron webContents): where its events go; tails die with it. */
export interface Session {
  readonly id: string;
  /** Who is behind the page, for the audit log ("alice (desktop)", "alice (web console from 127.0.0.1)"). */
  readonly actor?: string;
  emit<T extends EventTopic>(topic: T, payload: Events[T]): void;
}

/** What the host says about the embedded cluster it runs (settings page). */
export interface EmbeddedHostInfo {
  /** The settings the running cluster was started with; null when none runs in this host. */
  running: EmbeddedSettingsValue | null;
  defaultDataDir: string;
  pinnedByHost: Array<keyof EmbeddedSettingsValue>;
}

export interface ConsoleContext {
  connections: ConnectionManager;
  tails: TailManager;
  ops: OpsServices;
  operations: OperationRegistry;
  embeddedSettings: EmbeddedSettingsStore;
  appInfo(): AppInfo;
  /** The embedded cluster's lifecycle controls, when this host runs it in-process. */
  embedded(): EmbeddedControl | null;
  embeddedHost(): EmbeddedHostInfo;
}

export interface HandlerContext extends ConsoleContext {
  session: Session;
  /** Present when the request carried an `opId`: aborted by `op:cancel` or when the page goes. */
  op?: RunningOp;
}

export type Handler<C extends Channel> = (req: ParsedRequestOf<C>, ctx: HandlerContext) => Promise<ResponseOf<C>>;
export type Handlers = { [C in Channel]: Handler<C> };

const MAX_MESSAGE_LENGTH = 500;
const RESPONSE_CODE_NAMES = new Map<number, string>(Object.entries(ResponseCode).map(([name, code]) => [code, name]));

/** Masks absolute file paths (POSIX and Windows) and caps the length. */
export function sanitizeMessage(message: string): string {
  const masked = message
    .replace(/[A-Za-z]:\\[^\s'"]+/g, '<path>')
    .replace(/(^|[\s('"=[])\/(?:[^\s/'"]+\/)+[^\s/'"]*/g, '$1<path>');
  return masked.length > MAX_MESSAGE_LENGTH ? `${masked.slice(0, MAX_MESSAGE_LENGTH)}…` : masked;
}

export function formatZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'request'}: ${issue.message}`)
    .join('; ');
}

/** Maps anything thrown by a handler to what the page may see. */
export function toErrorBody(error: unknown): ConsoleErrorBody {
  if (error instanceof ConsoleError) return { code: error.code, message: sanitizeMessage(error.message) };
  if (error instanceof AdminError) {
    const name = RESPONSE_CODE_NAMES.get(error.code) ?? `code ${error.code}`;
    const notFound = [ResponseCode.TOPIC_NOT_EXIST, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, ResponseCode.QUERY_NOT_FOUND]
      .includes(error.code as never);
    const code = notFound ? 'NOT_FOUND' : error.code === ResponseCode.NO_PERMISSION ? 'FORBIDDEN' : 'CLUSTER_ERROR';
    return { code, message: sanitizeMessage(`The cluster answered ${name}${error.remark ? `: ${error.remark}` : ''}`) };
  }
  if (error instanceof RemotingTimeoutError) return { code: 'TIMEOUT', message: sanitizeMessage(error.message) };
  if (error instanceof RemotingConnectionError) return { code: 'UNREACHABLE', message: sanitizeMessage(error.message) };
  return { code: 'INTERNAL', message: 'Internal error (details are in the MQDesk log)' };
}

const WRITES: ReadonlySet<Channel> = new Set(WRITE_CHANNELS);

/** A write channel's call, unless it only previews (`dryRun: true` changes nothing). */
export function isWriteCall(channel: Channel, req: Record<string, unknown>): boolean {
  return WRITES.has(channel) && req['dryRun'] !== true;
}

/**
 * The connection a write acts on: its `connectionId`, or for a write that names a job instead
 * (migration:control), the job's connection. Null when it cannot be known (the handler then
 * answers NOT_FOUND, and the read-only request-code guard still holds underneath).
 */
export async function connectionOfWrite(channel: Channel, req: Record<string, unknown>, context: ConsoleContext): Promise<string | null> {
  if (typeof req['connectionId'] === 'string') return req['connectionId'];
  if (channel === 'migration:control' && typeof req['jobId'] === 'string') {
    try {
      return (await context.ops.migrations.get(req['jobId'])).connectionId;
    } catch {
      return null;
    }
  }
  return null;
}

export function actorOf(session: Session): string {
  return session.actor ?? `${localUser()} (console)`;
}

export function createDispatcher(handlers: Handlers, context: ConsoleContext, log: (line: string) => void = (l) => console.error(l)) {
  async function audit(scope: AuditScope, req: Record<string, unknown>, connectionId: string | null, error: ConsoleErrorBody | null): Promise<void> {
    try {
      await context.ops.recordAudit({
        action: auditActionOf(scope.channel, req),
        connectionId: connectionId ?? (typeof req['connectionId'] === 'string' ? req['connectionId'] : ''),
        target: auditTarget(req),
        detail: auditDetail(req),
        result: error ? 'failed' : 'ok',
        error: error ? `${error.code}: ${error.message}` : null,
        actor: scope.actor,
        channel: scope.channel,
      });
    } catch (e) {
      log(`[console] could not write the audit entry of ${scope.channel}: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  return async function dispatch(channel: unknown, rawRequest: unknown, session: Session): Promise<DispatchResult> {
    if (!isChannel(channel)) {
      return { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: `Unknown channel: ${String(channel).slice(0, 64)}` } };
    }
    const parsed = CONTRACT[channel].req.safeParse(rawRequest ?? {});
    if (!parsed.success) {
      return { ok: false, error: { code: 'BAD_REQUEST', message: sanitizeMessage(`Invalid ${channel} request: ${formatZodError(parsed.error)}`) } };
    }
    const req = parsed.data as Record<string, unknown>;
    const audited = AUDITED_CHANNELS.has(channel) && req['dryRun'] !== true;
    const scope: AuditScope = { channel, actor: actorOf(session), recorded: 0 };
    let connectionId: string | null = null;

    if (isWriteCall(channel, req)) {
      connectionId = await connectionOfWrite(channel, req, context);
      if (connectionId !== null && context.connections.isReadOnly(connectionId)) {
        const error: ConsoleErrorBody = {
          code: 'FORBIDDEN',
          message: sanitizeMessage(`Connection "${context.connections.nameOf(connectionId)}" is read-only: ${channel} was refused and nothing was changed`),
        };
        await audit(scope, req, connectionId, error);
        return { ok: false, error };
      }
    }

    let registration: ReturnType<OperationRegistry['begin']> = null;
    // op:cancel names another call's opId; it is not an operation itself.
    if (typeof req['opId'] === 'string' && channel !== 'op:cancel') {
      registration = context.operations.begin(session, req['opId']);
      if (!registration) {
        return { ok: false, error: { code: 'CONFLICT', message: `Operation "${req['opId']}" is already running on this page (or too many are)` } };
      }
    }
    const run = async (): Promise<DispatchResult> => {
      try {
        const handler = handlers[channel] as Handler<typeof channel>;
        const result = await handler(parsed.data as never, { ...context, session, op: registration?.op });
        if (audited && scope.recorded === 0) await audit(scope, req, connectionId, null);
        return { ok: true, result };
      } catch (error) {
        const body = toErrorBody(error);
        if (body.code === 'INTERNAL') log(`[console] ${channel} failed: ${(error as Error)?.stack ?? String(error)}`);
        if (audited && scope.recorded === 0) await audit(scope, req, connectionId, body);
        return { ok: false, error: body };
      } finally {
        registration?.end();
      }
    };
    return audited ? runInAuditScope(scope, run) : run();
  };
}

export type Dispatch = ReturnType<typeof createDispatcher>;
