/**
 * Queue offset queries and resets: GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
 * GET_EARLIEST_MSG_STORETIME (32), SEARCH_OFFSET_BY_TIMESTAMP (29), INVOKE_BROKER_TO_RESET_OFFSET (222).
 * Reset is done on the broker (RocketMQ 5 useServerSideResetOffset): the offsets are committed and
 * the next pull of each queue answers PULL_OFFSET_MOVED with the new offset, so it works for clients
 * that ignore RESET_CONSUMER_CLIENT_OFFSET (ali-ons); Java clients are also sent that request.
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { createRequest } from '../../remoting/remoting-command.js';
import { RequestCode } from '../../remoting/request-code.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { fail, ok, withHeader, jsonBody } from './response-util.js';
import { ObjectKeyMap } from '../../remoting/fastjson.js';

export function processGetMaxOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => ok(req, { offset: Math.max(0, ctx.store.getMaxOffset(h.str('topic'), h.int('queueId'))) }));
}

export function processGetMinOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => ok(req, { offset: Math.max(0, ctx.store.getMinOffset(h.str('topic'), h.int('queueId'))) }));
}

export function processEarliestStoreTime(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => ok(req, { timestamp: Math.max(0, ctx.store.getEarliestMessageTime(h.str('topic'), h.int('queueId'))) }));
}

export function processSearchOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => ok(req, { offset: ctx.store.getOffsetByTime(h.str('topic'), h.int('queueId'), h.int('timestamp')) }));
}

export function processResetOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const topic = h.str('topic');
    const group = h.str('group');
    const timestamp = h.int('timestamp');
    const isForce = h.bool('isForce', true);
    const onlyQueue = h.optInt('queueId', -1) ?? -1;
    const explicitOffset = h.optInt('offset');
    if (ctx.config.brokerRole === 'SLAVE') return fail(req, ResponseCode.SYSTEM_ERROR, 'Can not reset offset in slave broker');
    const config = ctx.topics.get(topic);
    if (!config) return fail(req, ResponseCode.TOPIC_NOT_EXIST, `[reset-offset] topic not exist, ${topic}`);
    if (!ctx.groups.get(group)) return fail(req, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `[reset-offset] group not exist, ${group}`);
    const entries: Array<[Record<string, unknown>, number]> = [];
    for (let q = 0; q < config.readQueueNums; q++) {
      if (onlyQueue >= 0 && q !== onlyQueue) continue;
      let target: number;
      if (explicitOffset !== undefined && onlyQueue >= 0) target = explicitOffset;
      else if (timestamp < 0) target = ctx.store.getMaxOffset(topic, q);
      else target = ctx.store.getOffsetByTime(topic, q, timestamp);
      target = Math.max(ctx.store.getMinOffset(topic, q), Math.min(target, ctx.store.getMaxOffset(topic, q)));
      const current = ctx.offsets.query(group, topic, q);
      if (!isForce && current !== undefined && target >= current) continue;
      ctx.offsets.commit(group, topic, q, target);
      ctx.offsets.setPendingReset(group, topic, q, target);
      entries.push([{ brokerName: ctx.config.brokerName, queueId: q, topic }, target]);
    }
    const body = jsonBody({ offsetTable: new ObjectKeyMap(entries) });
    const info = ctx.clients.consumers.get(group);
    for (const c of info?.clients.values() ?? []) {
      c.connection.invokeOneway(createRequest(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, { topic, group, timestamp }, body));
    }
    return ok(req, undefined, body);
  });
}
