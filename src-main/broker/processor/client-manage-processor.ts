/**
 * HEART_BEAT (34), UNREGISTER_CLIENT (35), CHECK_CLIENT_CONFIG (46).
 * RocketMQ: ClientManageProcessor. A heartbeat registers producer and consumer groups, creates each
 * consumer group's retry topic and (when enabled) its subscription group.
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import type { RemotingConnection } from '../../remoting/remoting-connection.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { fail, ok, withHeader } from './response-util.js';
import { HeartbeatDataSchema } from '../client/client-types.js';
import { parseFastjson } from '../../remoting/fastjson.js';
import { retryTopic } from '../metadata/system-names.js';
import { buildConsumerFilter, isRefusal, isTagType } from '../filter/consumer-filter.js';

export function processHeartbeat(ctx: BrokerContext, req: RemotingCommand, conn: RemotingConnection): RemotingCommand {
  let raw: unknown;
  try {
    raw = parseFastjson((req.body ?? Buffer.alloc(0)).toString('utf8'));
  } catch (err) {
    return fail(req, ResponseCode.SYSTEM_ERROR, `heartbeat body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = HeartbeatDataSchema.safeParse(raw);
  if (!parsed.success) {
    return fail(req, ResponseCode.SYSTEM_ERROR, `heartbeat body is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const data = parsed.data;
  const now = Date.now();
  const channel = { clientId: data.clientID, connection: conn, language: req.language, version: req.version, lastUpdate: now };
  let topicsCreated = false;
  for (const consumer of data.consumerDataSet) {
    const groupConfig = ctx.groups.findOrCreate(consumer.groupName, ctx.config.autoCreateSubscriptionGroup);
    if (groupConfig && consumer.messageModel !== 'BROADCASTING') {
      const retry = retryTopic(consumer.groupName);
      if (!ctx.topics.get(retry)) {
        ctx.topics.createSystemLike(retry, Math.max(1, groupConfig.retryQueueNums));
        topicsCreated = true;
      }
    }
    const changed = ctx.clients.registerConsumer(consumer, channel);
    if (changed && (groupConfig?.notifyConsumerIdsChangedEnable ?? true)) {
      const info = ctx.clients.consumers.get(consumer.groupName);
      if (info) ctx.clients.notifyChanged(info);
    }
  }
  for (const producer of data.producerDataSet) ctx.clients.registerProducer(producer.groupName, channel);
  if (topicsCreated) ctx.registerToNameServers();
  return ok(req);
}

export function processUnregisterClient(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const consumerGroup = h.optStr('consumerGroup');
    const notify = consumerGroup === undefined || (ctx.groups.get(consumerGroup)?.notifyConsumerIdsChangedEnable ?? true);
    ctx.clients.unregister(h.str('clientID'), h.optStr('producerGroup'), consumerGroup, notify);
    return ok(req);
  });
}

/** Validates a subscription before the client uses it: a bad SQL92 expression fails here, at subscribe time. */
export function processCheckClientConfig(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  let body: { subscriptionData?: { expressionType?: string; subString?: string } };
  try {
    body = JSON.parse((req.body ?? Buffer.alloc(0)).toString('utf8')) as typeof body;
  } catch {
    return fail(req, ResponseCode.SYSTEM_ERROR, 'check client config body is not valid JSON');
  }
  const sub = body.subscriptionData;
  if (!sub || isTagType(sub.expressionType)) return ok(req);
  if (sub.expressionType !== 'SQL92') {
    return fail(req, ResponseCode.SYSTEM_ERROR, `The broker does not support consumer to filter message by ${sub.expressionType}`);
  }
  const filter = buildConsumerFilter(sub.expressionType, sub.subString, ctx.config.enablePropertyFilter);
  return isRefusal(filter) ? fail(req, filter.code, filter.remark) : ok(req);
}
