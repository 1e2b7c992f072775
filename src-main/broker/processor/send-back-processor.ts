/**
 * CONSUMER_SEND_MSG_BACK (36): a consumer could not process a message; the broker stores a copy
 * in `%RETRY%<group>` behind a delay level, or in `%DLQ%<group>` once it has been retried enough.
 * RocketMQ: AbstractSendMessageProcessor#consumerSendMsgBack (reference §7.5, §11.1).
 *
 * Order: group (auto-created when allowed; else SUBSCRIPTION_GROUP_NOT_EXIST) → broker writable →
 * retryQueueNums ≤ 0 drops with SUCCESS → retry topic created (retryQueueNums queues, RW, UNIT_SUB
 * in unit mode) → original loaded by commitlog offset → RETRY_TOPIC set if absent →
 * maxReconsumeTimes from the header (client version ≥ V3_4_9) else the group's retryMaxTimes →
 * reconsumeTimes ≥ max or delayLevel < 0: `%DLQ%<group>` (1 queue, no delay); else delay level
 * (0 → 3 + reconsumeTimes) through SCHEDULE_TOPIC_XXXX to the retry topic.
 *
 * The copy keeps body, flag, sysFlag, born time and host and every property (UNIQ_KEY and KEYS
 * included, so QUERY_MESSAGE finds it in the retry and DLQ topics); reconsumeTimes + 1;
 * ORIGIN_MESSAGE_ID = the first original's id (its UNIQ_KEY, else its offset id), kept across
 * retries. DLQ copies also get 5.x DLQ_ORIGIN_TOPIC / DLQ_ORIGIN_MESSAGE_ID.
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import type { RemotingConnection } from '../../remoting/remoting-connection.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { RequestHeader } from './request-header.js';
import { fail, ok, parseHeader } from './response-util.js';
import { Perm, dlqTopic, retryTopic } from '../metadata/system-names.js';
import { tryDecodeMessage } from '../store/message-codec.js';
import { Prop, routeScheduledMessage } from '../schedule/schedule-routing.js';

/** MQVersion.Version.V3_4_9.ordinal(): from here the header's maxReconsumeTimes is honoured. */
const V3_4_9 = 121;
/** MixAll.DLQ_NUMS_PER_GROUP */
const DLQ_NUMS_PER_GROUP = 1;
/** TopicSysFlag.buildSysFlag(false, true) */
const TOPIC_SYS_FLAG_UNIT_SUB = 0x2;

interface SendBackHeader {
  offset: number;
  group: string;
  delayLevel: number;
  originMsgId: string | undefined;
  originTopic: string | undefined;
  unitMode: boolean;
  maxReconsumeTimes: number | undefined;
}

function readHeader(req: RemotingCommand): SendBackHeader {
  const h = new RequestHeader(req.extFields);
  return {
    offset: h.int('offset'),
    group: h.str('group'),
    delayLevel: h.int('delayLevel'),
    originMsgId: h.optStr('originMsgId'),
    originTopic: h.optStr('originTopic'),
    unitMode: h.bool('unitMode'),
    maxReconsumeTimes: h.optInt('maxReconsumeTimes'),
  };
}

export async function processConsumerSendMsgBack(ctx: BrokerContext, req: RemotingCommand,
  _conn: RemotingConnection): Promise<RemotingCommand> {
  const parsed = parseHeader(req, readHeader);
  if ('error' in parsed) return parsed.error;
  const header = parsed.header;
  const group = ctx.groups.findOrCreate(header.group, ctx.config.autoCreateSubscriptionGroup);
  if (!group) {
    return fail(req, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${header.group}`);
  }
  if ((ctx.config.brokerPermission & Perm.WRITE) === 0) {
    return fail(req, ResponseCode.NO_PERMISSION, `the broker[${ctx.config.host}] sending message is forbidden`);
  }
  if (group.retryQueueNums <= 0) return ok(req);

  let topic = retryTopic(header.group);
  let queueId = randomQueue(group.retryQueueNums);
  const retryConfig = ensureTopic(ctx, topic, group.retryQueueNums, header.unitMode ? TOPIC_SYS_FLAG_UNIT_SUB : 0);
  if ((retryConfig.perm & Perm.WRITE) === 0) {
    return fail(req, ResponseCode.NO_PERMISSION, `the topic[${topic}] sending message is forbidden`);
  }

  const raw = header.offset >= 0 ? ctx.store.lookMessageByOffset(header.offset) : null;
  const decoded = raw ? tryDecodeMessage(raw) : null;
  if (!decoded?.ok) return fail(req, ResponseCode.SYSTEM_ERROR, `look message by offset failed, ${header.offset}`);
  const original = decoded.message;

  const properties = { ...original.properties };
  delete properties[Prop.CRC32];
  if (properties[Prop.RETRY_TOPIC] === undefined) properties[Prop.RETRY_TOPIC] = original.topic;
  properties[Prop.WAIT] = 'false';
  // The first original's id, kept across retries (its unique id when it has one).
  const originId = properties[Prop.ORIGIN_MESSAGE_ID] || properties[Prop.UNIQ_KEY] || original.msgId;
  properties[Prop.ORIGIN_MESSAGE_ID] = originId;

  let maxReconsumeTimes = group.retryMaxTimes;
  if (req.version >= V3_4_9 && header.maxReconsumeTimes !== undefined) maxReconsumeTimes = header.maxReconsumeTimes;

  let delayLevel = header.delayLevel;
  let storeTopic: string;
  let storeQueueId: number;
  if (original.reconsumeTimes >= maxReconsumeTimes || delayLevel < 0) {
    topic = dlqTopic(header.group);
    queueId = randomQueue(DLQ_NUMS_PER_GROUP);
    ensureTopic(ctx, topic, DLQ_NUMS_PER_GROUP, 0);
    delete properties[Prop.DELAY];
    properties[Prop.DLQ_ORIGIN_TOPIC] = properties[Prop.RETRY_TOPIC]!;
    properties[Prop.DLQ_ORIGIN_MESSAGE_ID] = originId;
    storeTopic = topic;
    storeQueueId = queueId;
  } else {
    if (delayLevel === 0) delayLevel = 3 + original.reconsumeTimes;
    properties[Prop.DELAY] = String(delayLevel);
    const route = routeScheduledMessage(topic, queueId, properties, ctx.delayLevels);
    if (route.kind === 'level' || route.kind === 'timer') {
      storeTopic = route.topic;
      storeQueueId = route.queueId;
    } else {
      storeTopic = topic;
      storeQueueId = queueId;
    }
  }

  if (ctx.config.brokerRole === 'SLAVE') return fail(req, ResponseCode.SYSTEM_ERROR, 'SERVICE_NOT_AVAILABLE');
  const result = await ctx.store.putMessage({
    topic: storeTopic,
    queueId: storeQueueId,
    flag: original.flag,
    body: original.body,
    properties,
    sysFlag: original.sysFlag,
    bornTimestamp: original.bornTimestamp,
    bornHost: original.bornHost,
    reconsumeTimes: original.reconsumeTimes + 1,
    preparedTransactionOffset: 0,
  });
  if (result.status !== 'PUT_OK') return fail(req, ResponseCode.SYSTEM_ERROR, result.status);
  ctx.stats.put.add(1);
  ctx.stats.putMessageSizeTotal += result.wroteBytes ?? 0;
  return ok(req);
}

function randomQueue(queues: number): number {
  return Math.floor(Math.random() * 99_999_999) % queues;
}

/** TopicConfigManager#createTopicInSendMessageBackMethod: created RW on first use and registered. */
function ensureTopic(ctx: BrokerContext, topic: string, queues: number, topicSysFlag: number) {
  const existing = ctx.topics.get(topic);
  if (existing) return existing;
  let config = ctx.topics.createSystemLike(topic, queues);
  if (topicSysFlag !== 0) {
    config = { ...config, topicSysFlag };
    ctx.topics.upsert(config);
  }
  ctx.registerToNameServers();
  return config;
}
