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
import { fail, headerErrorResponse } from './response-util.js';
import { Perm } from '../metadata/system-names.js';
import { parseTagExpression, tagFilterFn, type TagFilter } from './tag-filter.js';
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

interface HeldPull {
  req: RemotingCommand;
  conn: RemotingConnection;
  header: PullHeader;
  filter: TagFilter;
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
    let header: PullHeader;
    try {
      const h = new RequestHeader(req.extFields);
      header = {
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
    } catch (err) {
      return headerErrorResponse(req, err);
    }
    return this.pull(req, conn, header, true);
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
    const topicConfig = ctx.topics.get(header.topic);
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
    let filter: TagFilter;
    if ((header.sysFlag & FLAG_SUBSCRIPTION) !== 0 || header.subscription !== undefined) {
      if (header.expressionType !== 'TAG') {
        return fail(req, ResponseCode.SUBSCRIPTION_PARSE_FAILED,
          `The broker does not support consumer to filter message by ${header.expressionType}`);
      }
      filter = parseTagExpression(header.subscription);
    } else {
      const sub = ctx.clients.subscription(header.consumerGroup, header.topic);
      if (!sub) {
        return fail(req, ResponseCode.SUBSCRIPTION_NOT_EXIST,
          `the consumer's subscription not exist, group: ${header.consumerGroup} topic: ${header.topic}`);
      }
      filter = parseTagExpression(sub.subString);
    }

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
    const result = ctx.store.getMessage(header.topic, header.queueId, header.queueOffset, maxMsgNums, tagFilterFn(filter));
    const code = pullCode(result.status, header.queueOffset);

    if (firstRun && (header.sysFlag & FLAG_COMMIT_OFFSET) !== 0 && ctx.config.brokerRole !== 'SLAVE') {
      ctx.offsets.commit(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
    }

    if (code === ResponseCode.PULL_NOT_FOUND && firstRun && (header.sysFlag & FLAG_SUSPEND) !== 0) {
      this.hold({ req, conn, header, filter, deadline: Date.now() + Math.max(0, header.suspendTimeoutMillis) });
      return null;
    }
    if (code === ResponseCode.SUCCESS) {
      ctx.stats.getFound.add(result.messages.length);
      ctx.stats.getTransferred.add(result.messages.length);
    } else {
      ctx.stats.getMiss.add(1);
    }
    return createResponse(req, code, result.status, {
      suggestWhichBrokerId: 0,
      nextBeginOffset: result.nextBeginOffset,
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
    for (const h of list) {
      const matches = h.filter.all || h.filter.codes.has(tagsCode);
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
