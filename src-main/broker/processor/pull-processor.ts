/**
 * PULL_MESSAGE (11) with long polling.
 * RocketMQ: PullMessageProcessor, DefaultPullMessageResultHandler, PullRequestHoldService.
 * A pull that finds nothing, with the SUSPEND bit set, is held until a matching message arrives in
 * its queue or the suspend timeout passes, then re-run once (no suspend, no offset commit).
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { createResponse } from '../../remoting/remoting-command.js';
import type { RemotingConnection } from '../../remoting/remoting-connection.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { RequestHeader } from './request-header.js';
import { fail, parseHeader } from './response-util.js';
import { Perm } from '../metadata/system-names.js';
import { tagFilterFn, type TagFilter } from './tag-filter.js';
import {
  arrivedProperties, buildConsumerFilter, getMessageBySql, isRefusal, type ConsumerFilter, type FilterRefusal,
} from '../filter/consumer-filter.js';
import type { Sql92Expression } from '../filter/sql92-parser.js';
import { matchesSql92 } from '../filter/sql92-evaluator.js';
import type { GetMessageStatus } from '../store/message-store.js';

const FLAG_COMMIT_OFFSET = 0x1;
const FLAG_SUSPEND = 0x2;
const FLAG_SUBSCRIPTION = 0x4;

export interface PullHeader {
  consumerGroup: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  maxMsgNums: number;
  sysFlag: number;
  commitOffset: number;
  suspendTimeoutMillis: number;
  subscription?: string;
  expressionType: string;
}

function readPullHeader(req: RemotingCommand): PullHeader {
  const h = new RequestHeader(req.extFields);
  return {
    consumerGroup: h.str('consumerGroup'),
    topic: h.str('topic'),
    queueId: h.int('queueId'),
    queueOffset: h.int('queueOffset'),
    maxMsgNums: h.int('maxMsgNums'),
    sysFlag: h.int('sysFlag'),
    commitOffset: h.optInt('commitOffset', 0) ?? 0,
    suspendTimeoutMillis: h.optInt('suspendTimeoutMillis', 15000) ?? 15000,
    subscription: h.optStr('subscription'),
    expressionType: h.optStr('expressionType') ?? 'TAG',
  };
}

interface HeldPull {
  req: RemotingCommand;
  conn: RemotingConnection;
  header: PullHeader;
  filter: TagFilter;
  /** SQL92 subscriptions: only arrivals whose properties match wake the pull. */
  sql?: Sql92Expression;
  deadline: number;
}

export class PullProcessor {
  private readonly held = new Map<string, HeldPull[]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ctx: BrokerContext) {}

  start(): void {
    this.ctx.store.onMessageArrived((topic, queueId, queueOffset, tagsCode) => this.onArrived(topic, queueId, queueOffset, tagsCode));
    // Expired holds are answered within a second of their deadline.
    this.timer = setInterval(() => this.expire(Date.now()), Math.min(1000, this.ctx.config.longPollCheckMs));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Answer everything held so clients are not left waiting for their own timeout.
    for (const list of this.held.values()) for (const h of list) this.rerun(h);
    this.held.clear();
  }

  get heldCount(): number {
    let n = 0;
    for (const l of this.held.values()) n += l.length;
    return n;
  }

  process(req: RemotingCommand, conn: RemotingConnection): RemotingCommand | null {
    const parsed = parseHeader(req, readPullHeader);
    if ('error' in parsed) return parsed.error;
    return this.pull(req, conn, parsed.header, true);
  }

  private pull(req: RemotingCommand, conn: RemotingConnection, header: PullHeader, firstRun: boolean): RemotingCommand | null {
    const { ctx } = this;
    if ((ctx.config.brokerPermission & Perm.READ) === 0) {
      return fail(req, ResponseCode.NO_PERMISSION, `the broker[${ctx.address}] pulling message is forbidden`);
    }
    const group = ctx.groups.findOrCreate(header.consumerGroup, ctx.config.autoCreateSubscriptionGroup);
    if (!group) {
      return fail(req, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group [${header.consumerGroup}] does not exist`);
    }
    if (!group.consumeEnable) {
      return fail(req, ResponseCode.NO_PERMISSION, `subscription group no permission, ${header.consumerGroup}`);
    }
    // A slave may hold a topic's messages before SlaveSynchronize copied its config: serve them.
    const topicConfig = ctx.topics.get(header.topic) ?? (ctx.config.brokerRole === 'SLAVE' ? replicatedTopicConfig(ctx, header.topic) : undefined);
    if (!topicConfig) {
      return fail(req, ResponseCode.TOPIC_NOT_EXIST, `topic[${header.topic}] not exist, apply first please!`);
    }
    if ((topicConfig.perm & Perm.READ) === 0) {
      return fail(req, ResponseCode.NO_PERMISSION, `the topic[${header.topic}] pulling message is forbidden`);
    }
    if (header.queueId < 0 || header.queueId >= topicConfig.readQueueNums) {
      return fail(req, ResponseCode.INVALID_PARAMETER,
        `queueId[${header.queueId}] is illegal, topic:[${header.topic}] topicConfig.readQueueNums:[${topicConfig.readQueueNums}] consumer:[${conn.remoteAddress}]`);
    }
    // TAG: tag hashes in the consume queue; SQL92 (enablePropertyFilter): message properties.
    let selected: ConsumerFilter | FilterRefusal;
    if ((header.sysFlag & FLAG_SUBSCRIPTION) !== 0 || header.subscription !== undefined) {
      selected = buildConsumerFilter(header.expressionType, header.subscription, ctx.config.enablePropertyFilter);
    } else {
      const sub = ctx.clients.subscription(header.consumerGroup, header.topic);
      if (!sub) {
        return fail(req, ResponseCode.SUBSCRIPTION_NOT_EXIST,
          `the consumer's subscription not exist, group: ${header.consumerGroup} topic: ${header.topic}`);
      }
      selected = buildConsumerFilter(sub.expressionType, sub.subString, ctx.config.enablePropertyFilter);
    }
    if (isRefusal(selected)) return fail(req, selected.code, selected.remark);
    const filter: TagFilter = selected.tag;

    const reset = ctx.offsets.takePendingReset(header.consumerGroup, header.topic, header.queueId);
    if (reset !== undefined) {
      // The client must jump to the admin's offset; its own commitOffset is stale, so it is not stored.
      return createResponse(req, ResponseCode.PULL_OFFSET_MOVED, 'OFFSET_RESET', {
        suggestWhichBrokerId: 0,
        nextBeginOffset: reset,
        minOffset: ctx.store.getMinOffset(header.topic, header.queueId),
        maxOffset: ctx.store.getMaxOffset(header.topic, header.queueId),
      });
    }
    const maxMsgNums = Math.max(1, Math.min(header.maxMsgNums, 1024));
    const result = selected.kind === 'SQL92'
      ? getMessageBySql(ctx.store, header.topic, header.queueId, header.queueOffset, maxMsgNums, selected.sql)
      : ctx.store.getMessage(header.topic, header.queueId, header.queueOffset, maxMsgNums, tagFilterFn(filter));
    let code = pullCode(result.status, header.queueOffset);
    let nextBeginOffset = result.nextBeginOffset;
    if (ctx.config.brokerRole === 'SLAVE' && code === ResponseCode.PULL_OFFSET_MOVED) {
      // A slave never moves a consumer (RocketMQ: PULL_OFFSET_MOVED → PULL_RETRY_IMMEDIATELY on a
      // slave). Asked past its end (the consumer came from the master; replication lags), it
      // keeps the consumer where it is and long-polls until replication brings that offset.
      if (result.status === 'OFFSET_TOO_SMALL') code = ResponseCode.PULL_RETRY_IMMEDIATELY;
      else {
        code = firstRun && (header.sysFlag & FLAG_SUSPEND) !== 0 ? ResponseCode.PULL_NOT_FOUND : ResponseCode.PULL_RETRY_IMMEDIATELY;
        nextBeginOffset = header.queueOffset;
      }
    }

    // Slaves never store offsets from pulls (clients clear the bit for them anyway).
    if (firstRun && (header.sysFlag & FLAG_COMMIT_OFFSET) !== 0 && ctx.config.brokerRole !== 'SLAVE') {
      ctx.offsets.commit(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
    }

    if (code === ResponseCode.PULL_NOT_FOUND && firstRun && (header.sysFlag & FLAG_SUSPEND) !== 0) {
      this.hold({ req, conn, header, filter, sql: selected.kind === 'SQL92' ? selected.sql : undefined,
        deadline: Date.now() + Math.max(0, header.suspendTimeoutMillis) });
      return null;
    }
    if (code === ResponseCode.SUCCESS) {
      ctx.stats.getFound.add(result.messages.length);
      ctx.stats.getTransferred.add(result.messages.length);
      ctx.stats.countGroupGet(header.consumerGroup, result.messages.length);
    } else {
      ctx.stats.getMiss.add(1);
    }
    return createResponse(req, code, result.status, {
      suggestWhichBrokerId: suggestWhichBrokerId(ctx, group, result.messages),
      nextBeginOffset,
      minOffset: result.minOffset,
      maxOffset: result.maxOffset,
    }, code === ResponseCode.SUCCESS ? Buffer.concat(result.messages) : undefined);
  }

  private hold(h: HeldPull): void {
    const key = `${h.header.topic}@${h.header.queueId}`;
    let list = this.held.get(key);
    if (!list) {
      list = [];
      this.held.set(key, list);
    }
    list.push(h);
  }

  private onArrived(topic: string, queueId: number, queueOffset: number, tagsCode: number): void {
    const key = `${topic}@${queueId}`;
    const list = this.held.get(key);
    if (!list || list.length === 0) return;
    const keep: HeldPull[] = [];
    let properties: Record<string, string> | null | undefined; // read once, for SQL92 holds only
    for (const h of list) {
      let matches = h.filter.all || h.filter.codes.has(tagsCode);
      if (matches && h.sql && queueOffset >= h.header.queueOffset) {
        if (properties === undefined) properties = arrivedProperties(this.ctx.store, topic, queueId, queueOffset);
        matches = properties === null || matchesSql92(h.sql, properties);
      }
      if (queueOffset >= h.header.queueOffset && matches) this.rerun(h);
      else keep.push(h);
    }
    if (keep.length > 0) this.held.set(key, keep);
    else this.held.delete(key);
  }

  private expire(now: number): void {
    for (const [key, list] of this.held) {
      const keep: HeldPull[] = [];
      for (const h of list) {
        if (h.conn.closed) continue;
        if (now >= h.deadline) this.rerun(h);
        else keep.push(h);
      }
      if (keep.length > 0) this.held.set(key, keep);
      else this.held.delete(key);
    }
  }

  private rerun(h: HeldPull): void {
    if (h.conn.closed) return;
    let response: RemotingCommand | null;
    try {
      response = this.pull(h.req, h.conn, h.header, false);
    } catch (err) {
      response = fail(h.req, ResponseCode.SYSTEM_ERROR, (err as Error).message);
    }
    if (response) h.conn.send(response);
  }
}

/** A slave's stand-in config for a replicated topic it has no config for yet (queues it holds, read-write). */
function replicatedTopicConfig(ctx: BrokerContext, topic: string): { readQueueNums: number; writeQueueNums: number; perm: number } | undefined {
  const ids = ctx.store.topicQueueIds().get(topic);
  if (!ids || ids.length === 0) return undefined;
  const queues = Math.max(...ids) + 1;
  return { readQueueNums: queues, writeQueueNums: queues, perm: Perm.READ | Perm.WRITE };
}

/**
 * Which node the consumer should pull this queue from next (RocketMQ PullMessageProcessor with
 * slaveReadEnable): a consumer reading data far behind the log's end (`slaveReadLagBytes`, in
 * RocketMQ "no longer in memory": 40 % of RAM) is sent to the group's whichBrokerWhenConsumeSlowly
 * (1, the slave); otherwise to the group's brokerId (0, the master). Without slaveReadEnable,
 * always the master: a slave then serves only while the master is unreachable (clients fall back
 * to it by themselves) and every answer sends the consumer back.
 */
function suggestWhichBrokerId(ctx: BrokerContext, group: { brokerId: number; whichBrokerWhenConsumeSlowly: number },
  messages: Buffer[]): number {
  if (!ctx.config.slaveReadEnable) return 0;
  const first = messages[0];
  if (first && first.length >= 36) {
    const lag = ctx.store.getMaxPhyOffset() - Number(first.readBigInt64BE(28));
    if (lag > ctx.config.slaveReadLagBytes) return group.whichBrokerWhenConsumeSlowly;
  }
  return group.brokerId;
}

/** Store status → pull response code (RocketMQ PullMessageProcessor#composeResponseHeader). */
export function pullCode(status: GetMessageStatus, requestOffset: number): number {
  switch (status) {
    case 'FOUND': return ResponseCode.SUCCESS;
    case 'NO_MATCHED_MESSAGE':
    case 'MESSAGE_WAS_REMOVING': return ResponseCode.PULL_RETRY_IMMEDIATELY;
    case 'OFFSET_FOUND_NULL':
    case 'OFFSET_OVERFLOW_ONE': return ResponseCode.PULL_NOT_FOUND;
    case 'NO_MESSAGE_IN_QUEUE':
    case 'NO_MATCHED_LOGIC_QUEUE': return requestOffset !== 0 ? ResponseCode.PULL_OFFSET_MOVED : ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_OVERFLOW_BADLY':
    case 'OFFSET_TOO_SMALL': return ResponseCode.PULL_OFFSET_MOVED;
    default: {
      const never: never = status;
      throw new Error(`unknown get status ${String(never)}`);
    }
  }
}
