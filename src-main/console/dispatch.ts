/**
 * The one door into the console service for both transports: parse the request with the
 * channel's schema, call its handler, and turn every failure into `{ code, message }` with no
 * stack and no file path (RedisInsight wrapErrorSensitiveData). Details are logged here, on the host.
 */
import type { z } from 'zod';
import { AdminError } from '../remoting/admin/mq-admin.js';
import { RemotingConnectionError, RemotingTimeoutError } from '../remoting/remoting-connection.js';
import { ResponseCode } from '../remoting/response-code.js';
import { isChannel, type Channel, type EventTopic } from './contract/channels.js';
import { CONTRACT, type ParsedRequestOf, type ResponseOf, type Events } from './contract/contract.js';
import { ConsoleError, type ConsoleErrorBody, type DispatchResult } from './contract/errors.js';
import type { ConnectionManager } from './connection.js';
import type { TailManager } from './tail.js';
import type { AppInfo } from './contract/dto.js';
import type { OpsServices } from './ops/ops-services.js';

/** One page (a WebSocket, an Electron webContents): where its events go; tails die with it. */
export interface Session {
  readonly id: string;
  emit<T extends EventTopic>(topic: T, payload: Events[T]): void;
}

export interface ConsoleContext {
  connections: ConnectionManager;
  tails: TailManager;
  ops: OpsServices;
  appInfo(): AppInfo;
}

export interface HandlerContext extends ConsoleContext {
  session: Session;
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

export function createDispatcher(handlers: Handlers, context: ConsoleContext, log: (line: string) => void = (l) => console.error(l)) {
  return async function dispatch(channel: unknown, rawRequest: unknown, session: Session): Promise<DispatchResult> {
    if (!isChannel(channel)) {
      return { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: `Unknown channel: ${String(channel).slice(0, 64)}` } };
    }
    const parsed = CONTRACT[channel].req.safeParse(rawRequest ?? {});
    if (!parsed.success) {
      return { ok: false, error: { code: 'BAD_REQUEST', message: sanitizeMessage(`Invalid ${channel} request: ${formatZodError(parsed.error)}`) } };
    }
    try {
      const handler = handlers[channel] as Handler<typeof channel>;
      const result = await handler(parsed.data as never, { ...context, session });
      return { ok: true, result };
    } catch (error) {
      const body = toErrorBody(error);
      if (body.code === 'INTERNAL') log(`[console] ${channel} failed: ${(error as Error)?.stack ?? String(error)}`);
      return { ok: false, error: body };
    }
  };
}

export type Dispatch = ReturnType<typeof createDispatcher>;
