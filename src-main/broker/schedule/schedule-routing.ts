/**
 * Where a delayed message is stored, and the due time its consume-queue entry carries.
 *
 * RocketMQ: `HookUtils#handleScheduleMessage` / `#transformTimerMessage` /
 * `#transformDelayLevelMessage` (5.x; `CommitLog#asyncPutMessage` in 4.9) decide the route at put
 * time; `CommitLog#checkMessageAndReturnSize` recomputes SCHEDULE_TOPIC_XXXX tag codes (due =
 * storeTimestamp + level delay) when consume queues are rebuilt, which is what
 * {@link scheduleTagsCode} does for the store's `tagsCodeResolver`.
 *
 * - DELAY > 0: `SCHEDULE_TOPIC_XXXX`, queue level−1 (levels above the last are clamped to it),
 *   REAL_TOPIC / REAL_QID added. Any timer property is dropped: DELAY wins.
 * - TIMER_DELAY_SEC / TIMER_DELAY_MS / TIMER_DELIVER_MS (RocketMQ 5 timer message, checked in that
 *   order): due in the future → `rmq_sys_wheel_timer` queue 0 with TIMER_OUT_MS = absolute due
 *   time, REAL_TOPIC / REAL_QID added; due now or past → stored as a normal message. More than
 *   {@link TIMER_MAX_DELAY_MS} ahead, or unparsable → illegal (MESSAGE_ILLEGAL).
 */
import { SystemTopic } from '../metadata/system-names.js';

/** RocketMQ 5 TimerMessageStore.TIMER_TOPIC (`rmq_sys_` + "wheel_timer"). */
export const TIMER_TOPIC = 'rmq_sys_wheel_timer';

/** MessageStoreConfig.timerMaxDelaySec = 3 days. */
export const TIMER_MAX_DELAY_MS = 3 * 24 * 3600 * 1000;

/** MessageConst names used by retry, delay and timer handling. */
export const Prop = {
  DELAY: 'DELAY',
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  RETRY_TOPIC: 'RETRY_TOPIC',
  ORIGIN_MESSAGE_ID: 'ORIGIN_MESSAGE_ID',
  UNIQ_KEY: 'UNIQ_KEY',
  KEYS: 'KEYS',
  TAGS: 'TAGS',
  WAIT: 'WAIT',
  TIMER_DELIVER_MS: 'TIMER_DELIVER_MS',
  TIMER_DELAY_SEC: 'TIMER_DELAY_SEC',
  TIMER_DELAY_MS: 'TIMER_DELAY_MS',
  TIMER_OUT_MS: 'TIMER_OUT_MS',
  TIMER_DEQUEUE_MS: 'TIMER_DEQUEUE_MS',
  DLQ_ORIGIN_TOPIC: 'DLQ_ORIGIN_TOPIC',
  DLQ_ORIGIN_MESSAGE_ID: 'DLQ_ORIGIN_MESSAGE_ID',
  /** The store's whole-record CRC trailer: belongs to one record, never copied to another. */
  CRC32: '__CRC32#',
} as const;

const TIMER_PROPS = [Prop.TIMER_DELIVER_MS, Prop.TIMER_DELAY_SEC, Prop.TIMER_DELAY_MS] as const;

/** The DELAY level of a message clamped to the configured levels; 0 when absent, ≤ 0 or not an integer. */
export function delayLevelOf(properties: Record<string, string>, levelCount: number): number {
  const raw = properties[Prop.DELAY];
  if (raw === undefined) return 0;
  const level = Number(raw);
  if (!Number.isInteger(level) || level <= 0) return 0;
  return Math.min(level, levelCount);
}

/**
 * Tag code of a record in SCHEDULE_TOPIC_XXXX (storeTimestamp + level delay) or the timer topic
 * (TIMER_OUT_MS); undefined for every other topic (the store then hashes TAGS). A record whose
 * due time cannot be read gets its store time, so it is delivered (or dropped) at once rather
 * than never.
 */
export function scheduleTagsCode(topic: string, properties: Record<string, string>, storeTimestamp: number,
  delayLevelsMs: readonly number[]): number | undefined {
  if (topic === SystemTopic.SCHEDULE) {
    const level = delayLevelOf(properties, delayLevelsMs.length);
    return level > 0 ? storeTimestamp + (delayLevelsMs[level - 1] ?? 0) : storeTimestamp;
  }
  if (topic === TIMER_TOPIC) {
    const due = Number(properties[Prop.TIMER_OUT_MS]);
    return Number.isSafeInteger(due) ? due : storeTimestamp;
  }
  return undefined;
}

export type ScheduleRoute =
  | { kind: 'none' }
  | { kind: 'level'; topic: string; queueId: number; level: number }
  | { kind: 'timer'; topic: string; queueId: number; deliverMs: number }
  | { kind: 'illegal'; reason: string };

/**
 * Decides where a message about to be stored goes, and adds the routing properties to
 * `properties` (mutated). `topic`/`queueId` are the message's real destination.
 */
export function routeScheduledMessage(topic: string, queueId: number, properties: Record<string, string>,
  delayLevelsMs: readonly number[], now = Date.now()): ScheduleRoute {
  const level = delayLevelOf(properties, delayLevelsMs.length);
  if (level > 0) {
    // HookUtils#checkIfTimerMessage: with a delay level the timer properties are cleared.
    for (const p of TIMER_PROPS) delete properties[p];
    properties[Prop.REAL_TOPIC] = topic;
    properties[Prop.REAL_QID] = String(queueId);
    return { kind: 'level', topic: SystemTopic.SCHEDULE, queueId: level - 1, level };
  }
  if (!TIMER_PROPS.some((p) => properties[p] !== undefined)) return { kind: 'none' };
  let deliverMs: number;
  if (properties[Prop.TIMER_DELAY_SEC] !== undefined) deliverMs = now + parseLong(properties[Prop.TIMER_DELAY_SEC]) * 1000;
  else if (properties[Prop.TIMER_DELAY_MS] !== undefined) deliverMs = now + parseLong(properties[Prop.TIMER_DELAY_MS]);
  else deliverMs = parseLong(properties[Prop.TIMER_DELIVER_MS]);
  if (!Number.isSafeInteger(deliverMs)) {
    return { kind: 'illegal', reason: 'timer message illegal, the timer properties are not integers' };
  }
  if (deliverMs <= now) return { kind: 'none' };
  if (deliverMs - now > TIMER_MAX_DELAY_MS) {
    return {
      kind: 'illegal',
      reason: `timer message illegal, the delay time should not be bigger than the max delay ${TIMER_MAX_DELAY_MS}ms`,
    };
  }
  properties[Prop.TIMER_OUT_MS] = String(deliverMs);
  properties[Prop.REAL_TOPIC] = topic;
  properties[Prop.REAL_QID] = String(queueId);
  return { kind: 'timer', topic: TIMER_TOPIC, queueId: 0, deliverMs };
}

function parseLong(v: string | undefined): number {
  if (v === undefined || !/^-?\d+$/.test(v.trim())) return Number.NaN;
  return Number(v.trim());
}

/** "1s 5s 10s 30s 1m …" as RocketMQ's messageDelayLevel prints; non-whole seconds as "<n>ms". */
export function formatDelayLevels(delayLevelsMs: readonly number[]): string {
  return delayLevelsMs.map((ms) => {
    if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
    if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
    if (ms % 60_000 === 0) return `${ms / 60_000}m`;
    if (ms % 1000 === 0) return `${ms / 1000}s`;
    return `${ms}ms`;
  }).join(' ');
}

/** Throws unless the levels are a non-empty list of positive whole milliseconds. */
export function checkDelayLevels(delayLevelsMs: readonly number[]): void {
  if (delayLevelsMs.length === 0 || !delayLevelsMs.every((ms) => Number.isSafeInteger(ms) && ms > 0)) {
    throw new Error(`delayLevelsMs must be a non-empty list of positive integers, got ${JSON.stringify(delayLevelsMs)}`);
  }
}
