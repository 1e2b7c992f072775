/**
 * What the delay and timer services share: reading a page of a system queue, turning a delayed
 * record into the message for its real topic, and storing a batch of those in order.
 * RocketMQ: ScheduleMessageService.DeliverDelayedMessageTimerTask#messageTimeup,
 * TimerMessageStore#convertMessage.
 */
import type { Logger } from '../../remoting/logger.js';
import { SystemTopic } from '../metadata/system-names.js';
import { tryDecodeMessage, type MessageExt } from '../store/message-codec.js';
import type { MessageStore, MessageToStore, PutMessageStatus } from '../store/message-store.js';
import { Prop } from './schedule-routing.js';

/** Records read per getMessage call (RocketMQ reads a level's queue in mapped-buffer slices). */
export const PAGE_SIZE = 32;
/** Wait before retrying after the store refused a copy (RocketMQ DELAY_FOR_A_PERIOD is 10 s; this is a local broker). */
export const RETRY_AFTER_FAILURE_MS = 1000;

export interface Page {
  messages: MessageExt[];
  /** First offset after what this read covered (holes and removed records included). */
  nextOffset: number;
  /** The queue has nothing at or after the offset read. */
  end: boolean;
}

/** Reads up to PAGE_SIZE records of a queue from `offset`; offsets below the queue's minimum move up to it. */
export function readPage(store: MessageStore, topic: string, queueId: number, offset: number, log: Logger): Page {
  const r = store.getMessage(topic, queueId, offset, PAGE_SIZE);
  switch (r.status) {
    case 'FOUND': {
      const messages: MessageExt[] = [];
      for (const raw of r.messages) {
        const d = tryDecodeMessage(raw);
        if (d.ok) messages.push(d.message);
        else log.error(`${topic}/${queueId}: undecodable record near offset ${offset} skipped: ${d.reason}`);
      }
      return { messages, nextOffset: r.nextBeginOffset, end: false };
    }
    case 'OFFSET_OVERFLOW_BADLY':
      // The queue is shorter than the saved progress (its tail was lost): resume at its end,
      // never from its start (RocketMQ ScheduleMessageService#correctDeliverOffset).
      log.warn(`${topic}/${queueId}: progress ${offset} is past the queue end ${r.maxOffset}; resuming there`);
      return { messages: [], nextOffset: r.maxOffset, end: true };
    case 'OFFSET_TOO_SMALL':
    case 'OFFSET_FOUND_NULL':
    case 'NO_MATCHED_MESSAGE':
    case 'MESSAGE_WAS_REMOVING':
      // Nothing to deliver here, but the read moved on (holes, removed records, an expired head).
      return { messages: [], nextOffset: r.nextBeginOffset, end: r.nextBeginOffset <= offset };
    case 'NO_MESSAGE_IN_QUEUE':
    case 'OFFSET_OVERFLOW_ONE':
    case 'NO_MATCHED_LOGIC_QUEUE':
      return { messages: [], nextOffset: offset, end: true };
    default: {
      const never: never = r.status;
      throw new Error(`unexpected get status ${String(never)}`);
    }
  }
}

/**
 * The message for the real topic: REAL_TOPIC / REAL_QID and `dropProps` removed, everything else
 * (body, flags, born time and host, reconsume count, other properties) kept; a new store time and
 * the real tag hash come from the store. Null when the record names no usable destination.
 */
export function realTopicCopy(m: MessageExt, dropProps: readonly string[]): MessageToStore | null {
  const props = { ...m.properties };
  const topic = props[Prop.REAL_TOPIC];
  const queueId = Number(props[Prop.REAL_QID]);
  if (!topic || !Number.isInteger(queueId) || queueId < 0) return null;
  // RocketMQ messageTimeup refuses a half-topic destination ("[BUG] the real topic of schedule msg is RMQ_SYS_TRANS_HALF_TOPIC").
  if (topic === SystemTopic.TRANS_HALF) return null;
  delete props[Prop.REAL_TOPIC];
  delete props[Prop.REAL_QID];
  delete props[Prop.CRC32];
  for (const p of dropProps) delete props[p];
  return {
    topic,
    queueId,
    flag: m.flag,
    body: m.body,
    properties: props,
    sysFlag: m.sysFlag,
    bornTimestamp: m.bornTimestamp,
    bornHost: m.bornHost,
    reconsumeTimes: m.reconsumeTimes,
    preparedTransactionOffset: m.preparedTransactionOffset,
  };
}

export type DeliveryOutcome = 'DELIVERED' | 'DROPPED' | 'RETRY';

/**
 * Stores the copies in order (one store tick, consecutive queue offsets per real queue) and says,
 * per message, whether it is done (DELIVERED, or DROPPED for a record that can never be stored)
 * or must be tried again (RETRY: the store refused, e.g. disk full or shutting down).
 */
export async function storeCopies(store: MessageStore, copies: Array<MessageToStore | null>, what: string,
  log: Logger): Promise<DeliveryOutcome[]> {
  const results = await Promise.all(copies.map((c) => (c ? store.putMessage(c) : Promise.resolve(null))));
  return results.map((r, i) => {
    if (r === null) {
      log.error(`${what}: record without a usable REAL_TOPIC/REAL_QID dropped`);
      return 'DROPPED';
    }
    return outcomeOf(r.status, r.error, `${what} → ${copies[i]?.topic ?? '?'}`, log);
  });
}

function outcomeOf(status: PutMessageStatus, error: string | undefined, what: string, log: Logger): DeliveryOutcome {
  switch (status) {
    case 'PUT_OK':
    case 'FLUSH_DISK_TIMEOUT': // written; only the fsync wait timed out
      return 'DELIVERED';
    case 'MESSAGE_ILLEGAL':
    case 'PROPERTIES_SIZE_EXCEEDED':
      log.error(`${what}: the store will never accept this copy (${status}: ${error ?? ''}); dropped`);
      return 'DROPPED';
    case 'SERVICE_NOT_AVAILABLE':
    case 'UNKNOWN_ERROR':
      log.warn(`${what}: store refused the copy (${status}: ${error ?? ''}); retrying`);
      return 'RETRY';
    default: {
      const never: never = status;
      throw new Error(`unexpected put status ${String(never)}`);
    }
  }
}

/** Deliveries per second over the last minute (console "delivered last minute"). */
export class MinuteCounter {
  private readonly buckets = new Array<number>(60).fill(0);
  private readonly stamps = new Array<number>(60).fill(-1);

  add(n: number, now = Date.now()): void {
    const s = Math.floor(now / 1000);
    const i = s % 60;
    if (this.stamps[i] !== s) {
      this.stamps[i] = s;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += n;
  }

  lastMinute(now = Date.now()): number {
    const s = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < 60; i++) if (this.stamps[i]! > s - 60) total += this.buckets[i]!;
    return total;
  }
}
