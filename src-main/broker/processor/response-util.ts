/** Helpers shared by processors: responses, and header reading where a bad field answers SYSTEM_ERROR. */
import { createResponse, type RemotingCommand, type HeaderValues } from '../../remoting/remoting-command.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { HeaderError, RequestHeader } from './request-header.js';
import { toFastjson } from '../../remoting/fastjson.js';

export const ok = (req: RemotingCommand, header?: HeaderValues, body?: Buffer, remark?: string): RemotingCommand =>
  createResponse(req, ResponseCode.SUCCESS, remark, header, body);

export const fail = (req: RemotingCommand, code: number, remark: string): RemotingCommand =>
  createResponse(req, code, remark);

export const jsonBody = (value: unknown): Buffer => Buffer.from(toFastjson(value), 'utf8');

/** Maps a HeaderError to SYSTEM_ERROR with its text, as Java's header decoding does; rethrows others. */
export function headerErrorResponse(req: RemotingCommand, err: unknown): RemotingCommand {
  if (err instanceof HeaderError) return fail(req, ResponseCode.SYSTEM_ERROR, err.message);
  throw err;
}

/**
 * Runs a synchronous processor body with the request's header fields; a HeaderError thrown
 * anywhere in it (a missing or malformed field) becomes the SYSTEM_ERROR answer.
 */
export function withHeader(req: RemotingCommand, handle: (h: RequestHeader) => RemotingCommand): RemotingCommand {
  try {
    return handle(new RequestHeader(req.extFields));
  } catch (err) {
    return headerErrorResponse(req, err);
  }
}

/**
 * For processors that go on asynchronously: the header as `read` decodes it, or the SYSTEM_ERROR
 * answer to return at once. Only the decoding is guarded, not the work after it.
 */
export function parseHeader<T>(req: RemotingCommand, read: (req: RemotingCommand) => T): { header: T } | { error: RemotingCommand } {
  try {
    return { header: read(req) };
  } catch (err) {
    return { error: headerErrorResponse(req, err) };
  }
}

export function parseJsonBody(req: RemotingCommand): unknown {
  if (!req.body || req.body.length === 0) throw new HeaderError('request body is empty');
  try {
    return JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    throw new HeaderError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}
