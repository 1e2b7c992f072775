/**
 * Console error codes. Every failure a page can see is `{ code, message }`: a stable code from this
 * list and a message written for a person, with no stack and no file path. Pure: no Node APIs.
 */
export const ERROR_CODES = [
  /** The request failed its schema (wrong type, too long, unknown field…). Nothing was changed. */
  'BAD_REQUEST',
  /** The channel is not in the contract. */
  'UNKNOWN_CHANNEL',
  /** The named thing (topic, group, message, connection) does not exist. */
  'NOT_FOUND',
  /** The cluster answered with an error code (the message carries its remark). */
  'CLUSTER_ERROR',
  /** A NameServer or broker could not be reached (refused, timed out). */
  'UNREACHABLE',
  /** The call took longer than its deadline. */
  'TIMEOUT',
  /** The request conflicts with the current state (e.g. a confirmation name that does not match). */
  'CONFLICT',
  /** Refused by policy (read-only connection, untrusted sender). */
  'FORBIDDEN',
  /** Anything else: the detail is logged on the host, not sent. */
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ConsoleErrorBody {
  code: ErrorCode;
  message: string;
}

/** Thrown by handlers; dispatch turns it into a ConsoleErrorBody. */
export class ConsoleError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConsoleError';
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** What both transports return for one call. */
export type DispatchResult<T = unknown> = { ok: true; result: T } | { ok: false; error: ConsoleErrorBody };
