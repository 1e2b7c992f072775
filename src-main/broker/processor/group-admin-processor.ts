/**
 * Subscription-group admin and client lists: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200),
 * GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP (207),
 * GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204),
 * QUERY_TOPIC_CONSUME_BY_WHO (300), GET_ALL_CONSUMER_OFFSET (43). RocketMQ: AdminBrokerProcessor.
 */
import { z } from 'zod';
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { fail, ok, withHeader, jsonBody } from './response-util.js';
import { groupNameProblem, retryTopic, dlqTopic } from '../metadata/system-names.js';
import { defaultGroupConfig, type SubscriptionGroupConfig } from '../metadata/subscription-group-manager.js';
import { NumberKeyMap, parseFastjson } from '../../remoting/fastjson.js';
import type { ClientChannel } from '../client/client-registry.js';

const GroupConfigSchema = z.object({
  groupName: z.string(),
  consumeEnable: z.boolean().optional(),
  consumeFromMinEnable: z.boolean().optional(),
  consumeBroadcastEnable: z.boolean().optional(),
  retryQueueNums: z.number().int().min(0).max(64).optional(),
  retryMaxTimes: z.number().int().min(-1).max(1000).optional(),
  brokerId: z.number().int().optional(),
  whichBrokerWhenConsumeSlowly: z.number().int().optional(),
  notifyConsumerIdsChangedEnable: z.boolean().optional(),
  consumeMessageOrderly: z.boolean().optional(),
}).passthrough();

export function processUpdateGroup(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  let raw: unknown;
  try {
    raw = parseFastjson((req.body ?? Buffer.alloc(0)).toString('utf8'));
  } catch (err) {
    return fail(req, ResponseCode.INVALID_PARAMETER, `subscription group body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = GroupConfigSchema.safeParse(raw);
  if (!parsed.success) return fail(req, ResponseCode.INVALID_PARAMETER, `subscription group body is invalid: ${parsed.error.message}`);
  const problem = groupNameProblem(parsed.data.groupName);
  if (problem) return fail(req, ResponseCode.INVALID_PARAMETER, problem);
  const base = ctx.groups.get(parsed.data.groupName) ?? defaultGroupConfig(parsed.data.groupName);
  const merged: SubscriptionGroupConfig = { ...base };
  for (const [k, v] of Object.entries(parsed.data)) if (k in base || k === 'consumeMessageOrderly') (merged as unknown as Record<string, unknown>)[k] = v;
  ctx.groups.upsert(merged);
  return ok(req);
}

export function processGetAllGroups(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const subscriptionGroupTable: Record<string, SubscriptionGroupConfig> = {};
  for (const g of ctx.groups.all()) subscriptionGroupTable[g.groupName] = g;
  return ok(req, undefined, jsonBody({ dataVersion: ctx.groups.dataVersion, forbiddenTable: {}, subscriptionGroupTable }));
}

export function processDeleteGroup(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const group = h.str('groupName');
    ctx.groups.remove(group);
    if (h.bool('cleanOffset') || h.bool('removeOffset')) {
      ctx.offsets.removeGroup(group);
      ctx.topics.remove(retryTopic(group));
      ctx.topics.remove(dlqTopic(group));
      ctx.registerToNameServers();
    }
    return ok(req);
  });
}

const connectionOf = (c: ClientChannel): Record<string, unknown> => ({
  clientId: c.clientId,
  clientAddr: c.connection.remoteAddress,
  language: c.language,
  version: c.version,
});

export function processConsumerConnectionList(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const group = h.str('consumerGroup');
    const info = ctx.clients.consumers.get(group);
    if (!info || info.clients.size === 0) {
      return fail(req, ResponseCode.CONSUMER_NOT_ONLINE, `the consumer group[${group}] not online`);
    }
    return ok(req, undefined, jsonBody({
      connectionSet: [...info.clients.values()].map(connectionOf),
      subscriptionTable: Object.fromEntries(info.subscriptions),
      consumeType: info.consumeType,
      messageModel: info.messageModel,
      consumeFromWhere: info.consumeFromWhere,
    }));
  });
}

export function processProducerConnectionList(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const group = h.str('producerGroup');
    const clients = ctx.clients.producers.get(group);
    if (!clients || clients.size === 0) return fail(req, ResponseCode.SYSTEM_ERROR, `the producer group[${group}] not exist`);
    return ok(req, undefined, jsonBody({ connectionSet: [...clients.values()].map(connectionOf) }));
  });
}

export function processQueryTopicConsumeByWho(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const topic = h.str('topic');
    const groups = new Set([...ctx.clients.groupsOfTopic(topic), ...ctx.offsets.groupsOfTopic(topic)]);
    return ok(req, undefined, jsonBody({ groupList: [...groups] }));
  });
}

export function processGetAllConsumerOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const offsetTable: Record<string, NumberKeyMap<number>> = {};
  for (const [key, table] of Object.entries(ctx.offsets.snapshot())) {
    offsetTable[key] = new NumberKeyMap(Object.entries(table).map(([q, o]) => [Number(q), o]));
  }
  return ok(req, undefined, jsonBody({ offsetTable }));
}
