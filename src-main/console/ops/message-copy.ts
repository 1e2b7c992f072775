/**
 * Copies of stored messages sent again through SEND_MESSAGE_V2: a dead letter resent to its topic
 * (or its group's retry topic), a message resent from the stuck-queue finder, a backlog message
 * forwarded to a migration topic, a discarded half message put back under check. Also the export
 * record of a stored message. Properties the broker adds on store are dropped (it adds its own).
 */
import { uncompressedBody, MessageSysFlag, type MessageExt } from '../../broker/store/message-codec.js';
import { createUniqueKey } from '../handlers/playground.js';

/** MessageConst names a broker sets when it stores or moves a message. */
export const BROKER_ADDED_PROPERTIES = [
  'CLUSTER', '__CRC32#', 'MSG_REGION', 'TRACE_ON', 'REAL_TOPIC', 'REAL_QID', 'DELAY', '__transactionId__',
  'TRAN_PREPARED_QUEUE_OFFSET', 'TRANSACTION_CHECK_TIMES', 'RECONSUME_TIME', 'MAX_RECONSUME_TIMES', 'MIN_OFFSET', 'MAX_OFFSET',
  'CONSUME_START_TIME', 'DLQ_ORIGIN_TOPIC', 'DLQ_ORIGIN_MESSAGE_ID', 'TRAN_MSG',
] as const;

/** Set on every copy this console sends: the offset id of the stored message it copies. */
export const RESENT_FROM_PROPERTY = 'MQDESK_RESENT_FROM';
/** Set on forwarded backlog messages: `<jobId>:<brokerName>:<queueId>:<queueOffset>` of the source. */
export const MIGRATION_SOURCE_PROPERTY = 'MQDESK_MIG_SRC';

const RETRY_PREFIX = '%RETRY%';
const DLQ_PREFIX = '%DLQ%';

export function isRetryOrDlq(topic: string): boolean {
  return topic.startsWith(RETRY_PREFIX) || topic.startsWith(DLQ_PREFIX);
}

export const retryTopicOf = (group: string): string => `${RETRY_PREFIX}${group}`;
export const dlqTopicOf = (group: string): string => `${DLQ_PREFIX}${group}`;

/** The topic a retry or DLQ copy came from (RETRY_TOPIC), or the message's own topic. */
export function originTopicOf(m: Pick<MessageExt, 'topic' | 'properties'>): string | null {
  const retryTopic = m.properties['RETRY_TOPIC'];
  if (retryTopic) return retryTopic;
  return isRetryOrDlq(m.topic) ? null : m.topic;
}

/** The first original's id: ORIGIN_MESSAGE_ID, else UNIQ_KEY, else the offset id. */
export function originIdOf(m: Pick<MessageExt, 'msgId' | 'properties'>): string {
  return m.properties['ORIGIN_MESSAGE_ID'] || m.properties['UNIQ_KEY'] || m.msgId;
}

export function copyableProperties(m: Pick<MessageExt, 'properties'>): Record<string, string> {
  const p: Record<string, string> = { ...m.properties };
  for (const name of BROKER_ADDED_PROPERTIES) delete p[name];
  return p;
}

/** The sysFlag a copy is sent with: compression bits kept (the body is sent as stored), no transaction type. */
export function copySysFlag(sysFlag: number): number {
  return sysFlag & (MessageSysFlag.COMPRESSED | 0x700);
}

export interface ResendCopy {
  topic: string;
  properties: Record<string, string>;
  uniqKey: string;
}

/**
 * A resend of `m`: to its original topic (RETRY_TOPIC dropped) or to `%RETRY%<group>` (RETRY_TOPIC
 * kept so the consumer restores the topic). New UNIQ_KEY; ORIGIN_MESSAGE_ID keeps the first id;
 * keys, tags, body and user properties as they were. Null when the original topic is unknown.
 */
export function resendCopy(m: MessageExt, target: 'origin' | 'retry', group: string | null): ResendCopy | null {
  const properties = copyableProperties(m);
  const origin = originTopicOf(m);
  let topic: string;
  if (target === 'retry') {
    if (!group) return null;
    topic = retryTopicOf(group);
    if (origin) properties['RETRY_TOPIC'] = origin;
  } else {
    if (!origin) return null;
    topic = origin;
    delete properties['RETRY_TOPIC'];
  }
  properties['ORIGIN_MESSAGE_ID'] = originIdOf(m);
  properties[RESENT_FROM_PROPERTY] = m.msgId;
  const uniqKey = createUniqueKey();
  properties['UNIQ_KEY'] = uniqKey;
  properties['WAIT'] = 'true';
  return { topic, properties, uniqKey };
}

// ---------------------------------------------------------------------------------------------
// Export records

export const EXPORT_COLUMNS = [
  'msgId', 'uniqKey', 'topic', 'brokerName', 'queueId', 'queueOffset', 'commitLogOffset', 'bornTimestamp', 'bornHost',
  'storeTimestamp', 'storeHost', 'reconsumeTimes', 'sysFlag', 'flag', 'bodyCRC', 'tags', 'keys', 'originTopic', 'originMsgId',
  'properties', 'bodyEncoding', 'body',
] as const;

export interface ExportRecord {
  msgId: string;
  uniqKey: string | null;
  topic: string;
  brokerName: string | null;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  bornTimestamp: number;
  bornHost: string;
  storeTimestamp: number;
  storeHost: string;
  reconsumeTimes: number;
  sysFlag: number;
  flag: number;
  bodyCRC: number;
  tags: string | null;
  keys: string | null;
  originTopic: string | null;
  originMsgId: string | null;
  properties: Record<string, string>;
  /** "text" (UTF-8) or "base64"; text mode falls back to base64 for a body that is not valid UTF-8. */
  bodyEncoding: 'text' | 'base64';
  body: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function toExportRecord(m: MessageExt, brokerName: string | null, bodyEncoding: 'text' | 'base64'): ExportRecord {
  let body: Buffer;
  try {
    body = uncompressedBody(m);
  } catch {
    body = m.body;
  }
  let encoding: 'text' | 'base64' = bodyEncoding;
  let text = '';
  if (encoding === 'text') {
    try {
      text = utf8.decode(body);
    } catch {
      encoding = 'base64';
    }
  }
  return {
    msgId: m.msgId,
    uniqKey: m.properties['UNIQ_KEY'] ?? null,
    topic: m.topic,
    brokerName,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    commitLogOffset: m.commitLogOffset,
    bornTimestamp: m.bornTimestamp,
    bornHost: m.bornHost,
    storeTimestamp: m.storeTimestamp,
    storeHost: m.storeHost,
    reconsumeTimes: m.reconsumeTimes,
    sysFlag: m.sysFlag,
    flag: m.flag,
    bodyCRC: m.bodyCRC,
    tags: m.properties['TAGS'] ?? null,
    keys: m.properties['KEYS'] ?? null,
    originTopic: originTopicOf(m),
    originMsgId: m.properties['ORIGIN_MESSAGE_ID'] ?? null,
    properties: { ...m.properties },
    bodyEncoding: encoding,
    body: encoding === 'text' ? text : body.toString('base64'),
  };
}

export function exportRecordCells(r: ExportRecord): Array<string | number | null> {
  return EXPORT_COLUMNS.map((c) => (c === 'properties' ? JSON.stringify(r.properties) : r[c]));
}
