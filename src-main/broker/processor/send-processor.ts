/**
 * SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320).
 * RocketMQ: SendMessageProcessor / AbstractSendMessageProcessor. Processing order follows the
 * reference §7.2: permission and name checks, auto-create, queue check, retry→DLQ, store, map status.
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import type { RemotingConnection } from '../../remoting/remoting-connection.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { RequestCode } from '../../remoting/request-code.js';
import type { BrokerContext } from '../broker-context.js';
import { RequestHeader, HeaderError } from './request-header.js';
import { fail, ok, parseHeader } from './response-util.js';
import {
  Perm, NOT_ALLOWED_SEND_TOPICS, RETRY_GROUP_TOPIC_PREFIX, SystemTopic, dlqTopic, topicNameProblem,
} from '../metadata/system-names.js';
import { decodeProperties, decodeBatchBody } from '../store/message-codec.js';
import type { MessageToStore, PutMessageResult } from '../store/message-store.js';
import type { TopicConfig } from '../namesrv/route-types.js';
import { routeScheduledMessage } from '../schedule/schedule-routing.js';
import { replicationResponseCode } from '../ha/ha-service.js';

/** V2 one-letter field names → SendMessageRequestHeader names. */
const V2_NAMES: Record<string, string> = {
  a: 'producerGroup', b: 'topic', c: 'defaultTopic', d: 'defaultTopicQueueNums', e: 'queueId', f: 'sysFlag',
  g: 'bornTimestamp', h: 'flag', i: 'properties', j: 'reconsumeTimes', k: 'unitMode', l: 'maxReconsumeTimes',
  m: 'batch', n: 'bname',
};

export function normalizeSendHeader(req: RemotingCommand): Record<string, string> {
  const ext = req.extFields ?? {};
  if (req.code === RequestCode.SEND_MESSAGE) return ext;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ext)) out[V2_NAMES[k] ?? k] = v;
  return out;
}

const MESSAGE_SYS_FLAG_TRANSACTION_PREPARED = 0x4;
const TRANSACTION_TYPE_MASK = 0xc;

interface SendHeader {
  producerGroup: string;
  topic: string;
  defaultTopic: string;
  defaultTopicQueueNums: number;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  properties: string;
  reconsumeTimes: number;
  maxReconsumeTimes: number | undefined;
  batch: boolean;
}

function readSendHeader(req: RemotingCommand): SendHeader {
  const h = new RequestHeader(normalizeSendHeader(req));
  return {
    producerGroup: h.str('producerGroup'),
    topic: h.str('topic'),
    defaultTopic: h.optStr('defaultTopic') ?? SystemTopic.AUTO_CREATE_TEMPLATE,
    defaultTopicQueueNums: h.optInt('defaultTopicQueueNums', 4) ?? 4,
    queueId: h.int('queueId'),
    sysFlag: h.optInt('sysFlag', 0) ?? 0,
    bornTimestamp: h.optInt('bornTimestamp', Date.now()) ?? Date.now(),
    flag: h.optInt('flag', 0) ?? 0,
    properties: h.optStr('properties') ?? '',
    reconsumeTimes: h.optInt('reconsumeTimes', 0) ?? 0,
    maxReconsumeTimes: h.optInt('maxReconsumeTimes'),
    batch: h.bool('batch') || req.code === RequestCode.SEND_BATCH_MESSAGE,
  };
}

export async function processSend(ctx: BrokerContext, req: RemotingCommand, conn: RemotingConnection): Promise<RemotingCommand> {
  const parsed = parseHeader(req, readSendHeader);
  if ('error' in parsed) return parsed.error;
  const header = parsed.header;
  if (ctx.config.brokerRole === 'SLAVE') {
    return fail(req, ResponseCode.SERVICE_NOT_AVAILABLE, `the broker[${ctx.config.brokerName}] is a slave and does not accept sends`);
  }
  if ((ctx.config.brokerPermission & Perm.WRITE) === 0) {
    return fail(req, ResponseCode.NO_PERMISSION, `the broker[${ctx.address}] sending message is forbidden`);
  }
  const nameProblem = topicNameProblem(header.topic);
  if (nameProblem) return fail(req, ResponseCode.INVALID_PARAMETER, nameProblem);
  if (NOT_ALLOWED_SEND_TOPICS.has(header.topic)) {
    return fail(req, ResponseCode.NO_PERMISSION, `Sending message to topic[${header.topic}] is forbidden.`);
  }

  let topicConfig = ctx.topics.get(header.topic);
  if (!topicConfig) {
    if (header.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
      topicConfig = ctx.topics.createSystemLike(header.topic, 1);
    } else if (ctx.config.autoCreateTopicEnable) {
      topicConfig = ctx.topics.createOnSend(header.topic, header.defaultTopic, header.defaultTopicQueueNums);
    }
    if (!topicConfig) {
      return fail(req, ResponseCode.TOPIC_NOT_EXIST, `topic[${header.topic}] not exist, apply first please!`);
    }
    ctx.registerToNameServers();
  }
  if ((topicConfig.perm & Perm.WRITE) === 0) {
    return fail(req, ResponseCode.NO_PERMISSION, `the topic[${header.topic}] sending message is forbidden`);
  }
  const queueCount = Math.max(topicConfig.readQueueNums, topicConfig.writeQueueNums);
  let queueId = header.queueId;
  if (queueId >= queueCount) {
    return fail(req, ResponseCode.INVALID_PARAMETER,
      `request queueId[${queueId}] is illegal, ${JSON.stringify(topicConfig)} Producer: ${conn.remoteAddress}`);
  }
  if (queueId < 0) queueId = Math.floor(Math.random() * topicConfig.writeQueueNums);

  const batchProperties = safeProperties(header.properties);
  if (batchProperties instanceof HeaderError) return fail(req, ResponseCode.MESSAGE_ILLEGAL, batchProperties.message);

  const bornHost = conn.remoteAddress;
  let result: PutMessageResult;
  if (header.batch) {
    if (header.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
      return fail(req, ResponseCode.MESSAGE_ILLEGAL, 'batch request does not support retry group ' + header.topic);
    }
    let entries;
    try {
      entries = decodeBatchBody(req.body ?? Buffer.alloc(0));
    } catch (err) {
      return fail(req, ResponseCode.MESSAGE_ILLEGAL, `batch body is malformed: ${(err as Error).message}`);
    }
    if (entries.length === 0) return fail(req, ResponseCode.MESSAGE_ILLEGAL, 'batch body holds no message');
    const msgs: MessageToStore[] = entries.map((e) => ({
      topic: header.topic,
      queueId,
      flag: e.flag,
      body: e.body,
      properties: { ...e.properties, CLUSTER: ctx.config.clusterName },
      sysFlag: header.sysFlag,
      bornTimestamp: header.bornTimestamp,
      bornHost,
      reconsumeTimes: header.reconsumeTimes,
      preparedTransactionOffset: 0,
    }));
    result = await ctx.store.putMessages(msgs);
  } else {
    const properties = batchProperties;
    let topic = header.topic;
    let sysFlag = header.sysFlag;
    // Retry topics: over the limit goes to the group's DLQ (RocketMQ handleRetryAndDLQ).
    if (topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
      const group = topic.slice(RETRY_GROUP_TOPIC_PREFIX.length);
      const groupConfig = ctx.groups.get(group);
      if (!groupConfig) {
        return fail(req, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${group}`);
      }
      const maxReconsume = req.version >= 121 && header.maxReconsumeTimes !== undefined
        ? header.maxReconsumeTimes : groupConfig.retryMaxTimes;
      // A group holding orderly queue locks gets its retries dead-lettered at once (RocketMQ
      // sendRetryMessageToDeadLetterQueueDirectly): orderly clients only send back after local retries.
      if (header.reconsumeTimes > maxReconsume || ctx.hasUnexpiredQueueLocks(group)) {
        topic = dlqTopic(group);
        ctx.topics.createSystemLike(topic, 1);
        ctx.registerToNameServers();
        queueId = 0;
        properties.DELAY = '-1';
      }
    }
    if (properties.TRAN_MSG === 'true' && (sysFlag & TRANSACTION_TYPE_MASK) === MESSAGE_SYS_FLAG_TRANSACTION_PREPARED) {
      // Half message: invisible to consumers until END_TRANSACTION (RocketMQ TransactionalMessageBridge).
      properties.REAL_TOPIC = topic;
      properties.REAL_QID = String(queueId);
      if (properties.UNIQ_KEY) properties.__transactionId__ = properties.UNIQ_KEY;
      sysFlag &= ~TRANSACTION_TYPE_MASK;
      topic = SystemTopic.TRANS_HALF;
      queueId = 0;
    }
    // Delay levels → SCHEDULE_TOPIC_XXXX (queue level−1); timer properties → rmq_sys_wheel_timer;
    // DELAY wins (RocketMQ HookUtils#handleScheduleMessage). The due time is the record's tag code,
    // derived by the store's tagsCodeResolver. The reply keeps the real queue id, as RocketMQ's does.
    let storeQueueId = queueId;
    if (topic !== SystemTopic.TRANS_HALF) {
      const route = routeScheduledMessage(topic, queueId, properties, ctx.delayLevels);
      if (route.kind === 'illegal') return fail(req, ResponseCode.MESSAGE_ILLEGAL, route.reason);
      if (route.kind !== 'none') {
        topic = route.topic;
        storeQueueId = route.queueId;
      }
    }
    properties.CLUSTER = ctx.config.clusterName;
    // The producer group is otherwise lost after the send; a trace rebuilt from the broker's own
    // records names it. Transactional sends already carry it (RocketMQ MessageConst.PROPERTY_PRODUCER_GROUP).
    if (!properties.PGROUP) properties.PGROUP = header.producerGroup;
    result = await ctx.store.putMessage({
      topic,
      queueId: storeQueueId,
      flag: header.flag,
      body: req.body ?? Buffer.alloc(0),
      properties,
      sysFlag,
      bornTimestamp: header.bornTimestamp,
      bornHost,
      reconsumeTimes: header.reconsumeTimes,
      preparedTransactionOffset: 0,
    });
  }
  // SYNC_MASTER: answer once a slave holds it (or say why not).
  const replicaCode = await replicationResponseCode(ctx.config.brokerRole, ctx.ha, result, batchProperties.WAIT !== 'false');
  return sendResponse(ctx, req, result, queueId, topicConfig, replicaCode);
}

function safeProperties(text: string): Record<string, string> | HeaderError {
  try {
    return decodeProperties(text);
  } catch (err) {
    return new HeaderError(`message properties are malformed: ${(err as Error).message}`);
  }
}

/** Store outcome → wire code, in one switch (RocketMQ SendMessageProcessor#handlePutMessageResult). */
function sendResponse(ctx: BrokerContext, req: RemotingCommand, result: PutMessageResult, queueId: number,
  _topic: TopicConfig, replicaCode: number | null = null): RemotingCommand {
  let code: number;
  switch (result.status) {
    case 'PUT_OK': code = ResponseCode.SUCCESS; break;
    case 'FLUSH_DISK_TIMEOUT': code = ResponseCode.FLUSH_DISK_TIMEOUT; break;
    case 'MESSAGE_ILLEGAL':
    case 'PROPERTIES_SIZE_EXCEEDED':
      return fail(req, ResponseCode.MESSAGE_ILLEGAL, result.error ?? `the message is illegal: ${result.status}`);
    case 'SERVICE_NOT_AVAILABLE':
      return fail(req, ResponseCode.SERVICE_NOT_AVAILABLE, `service not available now: ${result.error ?? 'store unavailable'}`);
    case 'UNKNOWN_ERROR':
      return fail(req, ResponseCode.SYSTEM_ERROR, `UNKNOWN_ERROR: ${result.error ?? ''}`);
    default: {
      const never: never = result.status;
      return fail(req, ResponseCode.SYSTEM_ERROR, `unexpected store status ${String(never)}`);
    }
  }
  const count = result.msgIds?.length ?? 1;
  ctx.stats.put.add(count);
  ctx.stats.putMessageSizeTotal += result.wroteBytes ?? 0;
  const response = ok(req, {
    msgId: result.msgIds ? result.msgIds.join(',') : result.msgId,
    queueId,
    queueOffset: result.queueOffset,
    MSG_REGION: ctx.config.regionId,
    TRACE_ON: 'true',
  });
  response.code = code === ResponseCode.SUCCESS && replicaCode !== null ? replicaCode : code;
  return response;
}
