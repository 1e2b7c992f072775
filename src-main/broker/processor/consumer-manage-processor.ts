/**
 * QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15), GET_CONSUMER_LIST_BY_GROUP (38).
 * RocketMQ: ConsumerManageProcessor.
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { fail, ok, withHeader, jsonBody } from './response-util.js';

export function processQueryConsumerOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const group = h.str('consumerGroup');
    const topic = h.str('topic');
    const queueId = h.int('queueId');
    const setZeroIfNotFound = h.bool('setZeroIfNotFound', true);
    const offset = ctx.offsets.query(group, topic, queueId);
    if (offset !== undefined && offset >= 0) return ok(req, { offset });
    // No committed offset: a queue whose first message is still at offset 0 starts from 0, as
    // RocketMQ does while that message is in memory; otherwise the client applies consumeFromWhere.
    const minOffset = ctx.store.getMinOffset(topic, queueId);
    if (setZeroIfNotFound && minOffset <= 0) return ok(req, { offset: 0 });
    return fail(req, ResponseCode.QUERY_NOT_FOUND, 'Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first');
  });
}

export function processUpdateConsumerOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const group = h.str('consumerGroup');
    const topic = h.str('topic');
    const queueId = h.int('queueId');
    const commitOffset = h.int('commitOffset');
    if (!ctx.topics.get(topic)) return fail(req, ResponseCode.TOPIC_NOT_EXIST, `Topic ${topic} not exist!`);
    if (commitOffset < 0) return fail(req, ResponseCode.INVALID_PARAMETER, `commitOffset ${commitOffset} is negative`);
    ctx.offsets.commit(group, topic, queueId, commitOffset);
    return ok(req);
  });
}

export function processGetConsumerListByGroup(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const group = h.str('consumerGroup');
    const ids = ctx.clients.consumerIds(group);
    if (ids.length === 0) return fail(req, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${group}`);
    return ok(req, undefined, jsonBody({ consumerIdList: ids }));
  });
}
