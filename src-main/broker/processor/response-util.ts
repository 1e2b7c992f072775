/** Helpers shared by processors: error responses and header parsing guarded by one try. */
import { createResponse, type RemotingCommand, type HeaderValues } from '../../remoting/remoting-command.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { HeaderError } from './request-header.js';
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

export function parseJsonBody(req: RemotingCommand): unknown {
  if (!req.body || req.body.length === 0) throw new HeaderError('request body is empty');
  try {
    return JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    throw new HeaderError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}
