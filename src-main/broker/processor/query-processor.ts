/**
 * QUERY_MESSAGE (12) by key or unique id, VIEW_MESSAGE_BY_ID (33) by commitlog offset.
 * RocketMQ: QueryMessageProcessor.
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { fail, ok, withHeader } from './response-util.js';

/** RocketMQ defaultQueryMaxNum, used for unique-key queries. */
const DEFAULT_QUERY_MAX_NUM = 32;

export function processQueryMessage(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const topic = h.str('topic');
    const key = h.str('key');
    let maxNum = h.int('maxNum');
    const begin = h.int('beginTimestamp');
    const end = h.int('endTimestamp');
    if (h.bool('_UNIQUE_KEY_QUERY')) maxNum = DEFAULT_QUERY_MAX_NUM;
    maxNum = Math.max(1, Math.min(maxNum, 1000));
    const found = ctx.store.queryMessage(topic, key, maxNum, begin, end);
    const last = ctx.store.stats();
    if (found.length === 0) {
      return fail(req, ResponseCode.QUERY_NOT_FOUND, 'can not find message, maybe time range not correct');
    }
    return ok(req, { indexLastUpdateTimestamp: Date.now(), indexLastUpdatePhyoffset: last.commitLogMaxOffset }, Buffer.concat(found));
  });
}

export function processViewMessageById(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const offset = h.int('offset');
    const raw = offset >= 0 ? ctx.store.lookMessageByOffset(offset) : null;
    if (!raw) return fail(req, ResponseCode.SYSTEM_ERROR, `can not find message by the offset, ${offset}`);
    return ok(req, undefined, raw);
  });
}
