/**
 * Reading a group's dead letters (%DLQ%<group>) over the protocol: every master's DLQ queues,
 * pulled with TOOLS_CONSUMER (as mqadmin and the dashboard browse), a time range narrowed with
 * SEARCH_OFFSET_BY_TIMESTAMP, filters applied on the client (key, original topic RETRY_TOPIC, tags).
 * Also the three selections a resend or export works on: ids, a filter, a job's failures.
 */
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import type { MessageExt } from '../../broker/store/message-codec.js';
import { ConsoleError } from '../contract/errors.js';
import { parseTags } from '../tail.js';
import { errorText } from '../cluster-view.js';
import type { JobManager } from './jobs.js';
import { dlqTopicOf, originTopicOf } from './message-copy.js';
import { nodeAddresses, pullPages, routeMasters, routeOrNull, viewByOffsetId, type TopicBroker } from './cluster-ops.js';

export interface DlqFilterInput {
  beginTime?: number | undefined;
  endTime?: number | undefined;
  key?: string | undefined;
  originTopic?: string | undefined;
  tags?: string | undefined;
}

export type DlqSelectionInput =
  | { kind: 'ids'; msgIds: string[] }
  | { kind: 'filter'; filter: DlqFilterInput }
  | { kind: 'failed-of'; jobId: string };

export function dlqFilterMatcher(filter: DlqFilterInput): (m: MessageExt) => boolean {
  const tagSet = filter.tags ? parseTags(filter.tags) : null;
  return (m) => {
    if (filter.beginTime !== undefined && m.storeTimestamp < filter.beginTime) return false;
    if (filter.endTime !== undefined && m.storeTimestamp > filter.endTime) return false;
    if (filter.originTopic !== undefined && originTopicOf(m) !== filter.originTopic) return false;
    if (tagSet && !tagSet.has(m.properties['TAGS'] ?? '')) return false;
    if (filter.key !== undefined) {
      const k = filter.key;
      const keys = (m.properties['KEYS'] ?? '').split(' ');
      if (!keys.includes(k) && m.properties['UNIQ_KEY'] !== k && m.properties['ORIGIN_MESSAGE_ID'] !== k && m.msgId !== k) return false;
    }
    return true;
  };
}

export interface DlqQueueRange {
  broker: TopicBroker;
  queueId: number;
  min: number;
  max: number;
  from: number;
  to: number;
}

/** The DLQ's queues with their ranges, narrowed to the filter's time range. Empty when the DLQ does not exist. */
export async function dlqRanges(admin: MQAdmin, group: string, filter: DlqFilterInput, errors: string[]): Promise<{ exists: boolean; ranges: DlqQueueRange[] }> {
  const topic = dlqTopicOf(group);
  const route = await routeOrNull(admin, topic);
  if (!route) return { exists: false, ranges: [] };
  const ranges: DlqQueueRange[] = [];
  for (const b of routeMasters(route)) {
    for (let queueId = 0; queueId < b.readQueueNums; queueId++) {
      try {
        const [min, max] = await Promise.all([admin.minOffset(b.addr, topic, queueId), admin.maxOffset(b.addr, topic, queueId)]);
        let from = min;
        let to = max;
        if (filter.beginTime !== undefined && max > min) from = Math.max(min, await admin.searchOffset(b.addr, topic, queueId, filter.beginTime));
        if (filter.endTime !== undefined && max > min) to = Math.min(max, await admin.searchOffset(b.addr, topic, queueId, filter.endTime + 1));
        ranges.push({ broker: b, queueId, min, max, from, to: Math.max(from, to) });
      } catch (error) {
        errors.push(`${b.brokerName}/${queueId}: ${errorText(error)}`);
      }
    }
  }
  return { exists: true, ranges };
}

export type SelectedItem = { m: MessageExt; brokerName: string } | { sourceMsgId: string; error: string };

/** Every DLQ message matching the filter, queue by queue, oldest first. */
export async function* scanDlq(admin: MQAdmin, group: string, filter: DlqFilterInput, signal: { aborted: boolean },
  errors: string[] = []): AsyncGenerator<{ m: MessageExt; brokerName: string }> {
  const { ranges } = await dlqRanges(admin, group, filter, errors);
  const matches = dlqFilterMatcher(filter);
  const topic = dlqTopicOf(group);
  for (const r of ranges) {
    if (r.to <= r.from) continue;
    for await (const page of pullPages(admin, r.broker.addr, topic, r.queueId, r.from, r.to)) {
      if (signal.aborted) return;
      for (const m of page) if (matches(m)) yield { m, brokerName: r.broker.brokerName };
    }
  }
}

/** The messages of a selection, each once; ids that are not dead letters of the group come back as errors. */
export async function* iterateSelection(admin: MQAdmin, group: string, selection: DlqSelectionInput, signal: { aborted: boolean },
  jobs: JobManager): AsyncGenerator<SelectedItem> {
  if (selection.kind === 'filter') {
    yield* scanDlq(admin, group, selection.filter, signal);
    return;
  }
  let ids: AsyncIterable<string> | Iterable<string>;
  if (selection.kind === 'ids') {
    ids = selection.msgIds;
  } else {
    const job = await jobs.get(selection.jobId);
    if (job.kind !== 'dlq-resend') throw new ConsoleError('BAD_REQUEST', `Job ${selection.jobId} is not a resend`);
    if (job.state === 'running') throw new ConsoleError('CONFLICT', `Job ${selection.jobId} is still running`);
    ids = (async function* failedIds() {
      for await (const r of jobs.receipts(selection.jobId)) if (r.status === 'failed') yield r.sourceMsgId;
    })();
  }
  const topic = dlqTopicOf(group);
  const nodes = await nodeAddresses(admin);
  const seen = new Set<string>();
  for await (const id of ids) {
    if (signal.aborted) return;
    const upper = id.toUpperCase();
    if (seen.has(upper)) continue;
    seen.add(upper);
    try {
      const found = await viewByOffsetId(admin, upper, nodes);
      if (found.m.topic !== topic) yield { sourceMsgId: upper, error: `not a dead letter of ${group} (it is in ${found.m.topic})` };
      else yield { m: found.m, brokerName: found.brokerName };
    } catch (error) {
      yield { sourceMsgId: upper, error: errorText(error) };
    }
  }
}
