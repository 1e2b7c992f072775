/**
 * Half messages and op records in the store. RocketMQ: TransactionalMessageBridge,
 * TransactionalMessageUtil, EndTransactionProcessor#endMessageTransaction.
 *
 * A half message lives in RMQ_SYS_TRANS_HALF_TOPIC queue 0 with REAL_TOPIC / REAL_QID /
 * __transactionId__ properties and transaction bits cleared (so it has a consume-queue entry there
 * and nowhere else). Closing it writes an op record to RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0, tag
 * "d", whose body lists half-queue offsets as text, each followed by a comma ("123," or "5,17,").
 * A check re-appends the half message (a "copy") with TRANSACTION_CHECK_TIMES raised and
 * TRAN_PREPARED_QUEUE_OFFSET = the original half offset, which identifies the transaction across copies.
 */
import {
  MessageSysFlag, PROPERTY_TAGS, decodeMessage, encodeMessage, type MessageExt,
} from '../store/message-codec.js';
import type { MessageStore, MessageToStore, PutMessageResult } from '../store/message-store.js';
import { SystemTopic } from '../metadata/system-names.js';

export const TxProp = {
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  TRAN_MSG: 'TRAN_MSG',
  PGROUP: 'PGROUP',
  TRANSACTION_ID: '__transactionId__',
  CHECK_TIMES: 'TRANSACTION_CHECK_TIMES',
  PREPARED_QUEUE_OFFSET: 'TRAN_PREPARED_QUEUE_OFFSET',
  CHECK_IMMUNITY_TIME_IN_SECONDS: 'CHECK_IMMUNITY_TIME_IN_SECONDS',
  UNIQ_KEY: 'UNIQ_KEY',
  KEYS: 'KEYS',
  CRC32: '__CRC32#',
} as const;

/** Op records carry this tag (TransactionalMessageUtil.REMOVETAG). */
export const OP_REMOVE_TAG = 'd';
/** Consumer group whose offsets on the half and op queues record the check progress (MixAll.CID_SYS_RMQ_TRANS). */
export const TRANS_CHECK_GROUP = 'CID_RMQ_SYS_TRANS';
export const HALF_QUEUE_ID = 0;
export const OP_QUEUE_ID = 0;

export type TransactionOutcome = 'COMMIT' | 'ROLLBACK' | 'DISCARD';

/** The transaction a half message (or a copy of it) belongs to: its original half-queue offset. */
export function transactionKey(m: Pick<MessageExt, 'properties' | 'queueOffset'>): number {
  const v = m.properties[TxProp.PREPARED_QUEUE_OFFSET];
  const n = v === undefined ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : m.queueOffset;
}

export function checkTimesOf(m: Pick<MessageExt, 'properties'>): number {
  const n = Number(m.properties[TxProp.CHECK_TIMES] ?? '0');
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

export function encodeOpBody(offsets: number[]): Buffer {
  return Buffer.from(offsets.map((o) => `${o},`).join(''), 'utf8');
}

/** Offsets listed in an op body ("1,2," or 4.x's "1"); anything unparsable is skipped. */
export function decodeOpBody(body: Buffer): number[] {
  const out: number[] = [];
  for (const part of body.toString('utf8').split(',')) {
    const t = part.trim();
    if (t === '') continue;
    const n = Number(t);
    if (Number.isSafeInteger(n) && n >= 0) out.push(n);
  }
  return out;
}

/** Properties with the store's CRC trailer dropped (the store writes a fresh one). */
function ownProperties(m: MessageExt): Record<string, string> {
  const p: Record<string, string> = { ...m.properties };
  delete p[TxProp.CRC32];
  return p;
}

/** Store access for the transaction services, one place for the record shapes. */
export class HalfMessageBridge {
  constructor(private readonly store: MessageStore, private readonly storeHost: () => string) {}

  /** The record at a commitlog offset, decoded; null when there is none. */
  lookup(commitLogOffset: number): MessageExt | null {
    const raw = this.store.lookMessageByOffset(commitLogOffset);
    if (!raw) return null;
    try {
      return decodeMessage(raw);
    } catch {
      return null;
    }
  }

  /** Up to `max` records of a queue from `offset` on, decoded, with where to continue. */
  readPage(topic: string, queueId: number, offset: number, max: number): { messages: MessageExt[]; next: number; maxOffset: number } {
    const r = this.store.getMessage(topic, queueId, offset, max);
    const messages: MessageExt[] = [];
    if (r.status === 'FOUND') {
      for (const raw of r.messages) {
        try {
          messages.push(decodeMessage(raw));
        } catch {
          // an unreadable record is skipped; the queue offset still moves on
        }
      }
    }
    // Nothing to read at or past the end; otherwise nextBeginOffset skips holes and removed entries.
    const atEnd = r.status === 'OFFSET_OVERFLOW_ONE' || r.status === 'OFFSET_OVERFLOW_BADLY'
      || r.status === 'NO_MESSAGE_IN_QUEUE' || r.status === 'NO_MATCHED_LOGIC_QUEUE';
    return { messages, next: atEnd ? offset : Math.max(offset, r.nextBeginOffset), maxOffset: r.maxOffset };
  }

  halfMaxOffset(): number {
    return this.store.getMaxOffset(SystemTopic.TRANS_HALF, HALF_QUEUE_ID);
  }

  opMaxOffset(): number {
    return this.store.getMaxOffset(SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID);
  }

  /** The committed message: REAL_TOPIC/REAL_QID, REAL_* and TRAN_MSG removed, type COMMIT. */
  putCommitted(half: MessageExt): Promise<PutMessageResult> {
    const properties = ownProperties(half);
    const topic = properties[TxProp.REAL_TOPIC] ?? '';
    const queueId = Number(properties[TxProp.REAL_QID] ?? '0');
    delete properties[TxProp.REAL_TOPIC];
    delete properties[TxProp.REAL_QID];
    delete properties[TxProp.TRAN_MSG];
    return this.store.putMessage({
      ...this.base(half, properties),
      topic,
      queueId: Number.isSafeInteger(queueId) && queueId >= 0 ? queueId : 0,
      sysFlag: (half.sysFlag & ~0xc) | MessageSysFlag.TRANSACTION_COMMIT_TYPE,
      preparedTransactionOffset: half.commitLogOffset,
    });
  }

  /** A copy of the half message at the end of the half queue (a check, or an immune message put back). */
  putBack(half: MessageExt, checkTimes: number, key: number): Promise<PutMessageResult> {
    const properties = ownProperties(half);
    properties[TxProp.CHECK_TIMES] = String(checkTimes);
    properties[TxProp.PREPARED_QUEUE_OFFSET] = String(key);
    return this.store.putMessage({ ...this.base(half, properties), topic: SystemTopic.TRANS_HALF, queueId: HALF_QUEUE_ID });
  }

  /** Past the check maximum: kept in TRANS_CHECK_MAX_TIME_TOPIC (queue 0), properties as they were. */
  putDiscarded(half: MessageExt): Promise<PutMessageResult> {
    return this.store.putMessage({ ...this.base(half, ownProperties(half)), topic: SystemTopic.TRANS_CHECK_MAX_TIME, queueId: 0 });
  }

  /** An op record closing these half-queue offsets. */
  putOp(offsets: number[]): Promise<PutMessageResult> {
    return this.store.putMessage({
      topic: SystemTopic.TRANS_OP_HALF,
      queueId: OP_QUEUE_ID,
      flag: 0,
      body: encodeOpBody(offsets),
      properties: { [PROPERTY_TAGS]: OP_REMOVE_TAG, WAIT: 'false' },
      sysFlag: 0,
      bornTimestamp: Date.now(),
      bornHost: this.storeHost(),
      reconsumeTimes: 0,
      preparedTransactionOffset: 0,
    });
  }

  /**
   * CHECK_TRANSACTION_STATE body: the half message (copy) encoded like a stored message, with topic
   * and queueId set back to REAL_TOPIC / REAL_QID (AbstractTransactionalMessageCheckListener#sendCheckMessage).
   */
  checkBody(copy: MessageExt): Buffer {
    const properties = ownProperties(copy);
    const queueId = Number(properties[TxProp.REAL_QID] ?? copy.queueId);
    return encodeMessage({
      topic: properties[TxProp.REAL_TOPIC] ?? copy.topic,
      queueId: Number.isSafeInteger(queueId) ? queueId : copy.queueId,
      flag: copy.flag,
      body: copy.body,
      properties,
      sysFlag: copy.sysFlag,
      bornTimestamp: copy.bornTimestamp,
      bornHost: copy.bornHost,
      storeTimestamp: copy.storeTimestamp,
      storeHost: copy.storeHost,
      reconsumeTimes: copy.reconsumeTimes,
      preparedTransactionOffset: copy.preparedTransactionOffset,
      queueOffset: copy.queueOffset,
      commitLogOffset: copy.commitLogOffset,
      bodyCRC: copy.bodyCRC,
    });
  }

  private base(half: MessageExt, properties: Record<string, string>): Omit<MessageToStore, 'topic' | 'queueId'> {
    return {
      flag: half.flag,
      body: half.body,
      properties,
      sysFlag: half.sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOSTADDRESS_V6),
      bornTimestamp: half.bornTimestamp,
      bornHost: half.bornHost,
      reconsumeTimes: half.reconsumeTimes,
      preparedTransactionOffset: 0,
    };
  }
}
