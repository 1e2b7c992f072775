/**
 * GET_TOPIC_STATS_INFO (202), GET_CONSUME_STATS (208), GET_BROKER_RUNTIME_INFO (28).
 * MessageQueue-keyed tables are written in fastjson's object-key form, which Java admin tools parse.
 * RocketMQ: AdminBrokerProcessor#getTopicStatsInfo / getConsumeStats / prepareRuntimeInfo.
 */
import { statfsSync } from 'node:fs';
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { fail, ok, withHeader, jsonBody } from './response-util.js';
import { ObjectKeyMap } from '../../remoting/fastjson.js';
import { retryTopic } from '../metadata/system-names.js';

const mq = (topic: string, brokerName: string, queueId: number): Record<string, unknown> => ({ brokerName, queueId, topic });

export function processTopicStats(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const topic = h.str('topic');
    const config = ctx.topics.get(topic);
    if (!config) return fail(req, ResponseCode.TOPIC_NOT_EXIST, `topic[${topic}] not exist`);
    const entries: Array<[Record<string, unknown>, unknown]> = [];
    const queues = Math.max(config.readQueueNums, config.writeQueueNums);
    for (let q = 0; q < queues; q++) {
      const min = Math.max(0, ctx.store.getMinOffset(topic, q));
      const max = Math.max(0, ctx.store.getMaxOffset(topic, q));
      const last = max > 0 ? ctx.store.getStoreTime(topic, q, max - 1) : 0;
      entries.push([mq(topic, ctx.config.brokerName, q), { minOffset: min, maxOffset: max, lastUpdateTimestamp: Math.max(0, last) }]);
    }
    return ok(req, undefined, jsonBody({ offsetTable: new ObjectKeyMap(entries), topicPutTps: 0 }));
  });
}

export function processConsumeStats(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const group = h.str('consumerGroup');
    const one = h.optStr('topic');
    const list = h.optStr('topicList');
    let topics: string[];
    if (one) topics = [one];
    else if (list) topics = list.split(',').filter((t) => t.length > 0);
    else {
      const set = new Set(ctx.offsets.topicsOfGroup(group));
      const info = ctx.clients.consumers.get(group);
      for (const t of info?.subscriptions.keys() ?? []) set.add(t);
      if (ctx.topics.get(retryTopic(group))) set.add(retryTopic(group));
      topics = [...set];
    }
    const entries: Array<[Record<string, unknown>, unknown]> = [];
    for (const topic of topics) {
      const config = ctx.topics.get(topic);
      if (!config) continue;
      for (let q = 0; q < config.readQueueNums; q++) {
        const brokerOffset = Math.max(0, ctx.store.getMaxOffset(topic, q));
        const committed = ctx.offsets.query(group, topic, q);
        const consumerOffset = committed === undefined ? 0 : committed;
        const lastTimestamp = consumerOffset > 0 ? Math.max(0, ctx.store.getStoreTime(topic, q, consumerOffset - 1)) : 0;
        entries.push([mq(topic, ctx.config.brokerName, q), {
          brokerOffset, consumerOffset, pullOffset: consumerOffset, lastTimestamp,
        }]);
      }
    }
    return ok(req, undefined, jsonBody({ offsetTable: new ObjectKeyMap(entries), consumeTps: ctx.stats.groupConsumeTps(group) }));
  });
}

export function processRuntimeInfo(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const nowS = ctx.stats.nowS();
  const s = ctx.store.stats();
  let diskRatio = 0;
  let capacity = 'unknown';
  try {
    const fsStats = statfsSync(ctx.config.dataDir);
    const total = fsStats.blocks * fsStats.bsize;
    const free = fsStats.bavail * fsStats.bsize;
    diskRatio = total > 0 ? (total - free) / total : 0;
    capacity = `Total : ${(total / 1024 ** 3).toFixed(2)} GiB, Free : ${(free / 1024 ** 3).toFixed(2)} GiB.`;
  } catch {
    // statfs can fail on exotic filesystems; the ratio then stays unknown (0).
  }
  const table: Record<string, string> = {
    brokerVersionDesc: 'V4_9_8',
    brokerVersion: '409',
    brokerActive: 'true',
    msgPutTotalTodayNow: String(ctx.stats.put.total),
    msgGetTotalTodayNow: String(ctx.stats.getTransferred.total),
    msgPutTotalTodayMorning: '0',
    msgGetTotalTodayMorning: '0',
    msgPutTotalYesterdayMorning: '0',
    msgGetTotalYesterdayMorning: '0',
    putTps: ctx.stats.put.triple(nowS),
    getFoundTps: ctx.stats.getFound.triple(nowS),
    getMissTps: ctx.stats.getMiss.triple(nowS),
    getTransferredTps: ctx.stats.getTransferred.triple(nowS),
    // RocketMQ StoreStatsService#getGetTotalTps: found + miss, per window.
    getTotalTps: [10, 60, 600].map((w) => (ctx.stats.getFound.tps(w, nowS) + ctx.stats.getMiss.tps(w, nowS)).toFixed(2)).join(' '),
    putMessageTimesTotal: String(ctx.stats.put.total),
    putMessageSizeTotal: String(ctx.stats.putMessageSizeTotal),
    commitLogMinOffset: String(s.commitLogMinOffset),
    commitLogMaxOffset: String(s.commitLogMaxOffset),
    commitLogDiskRatio: diskRatio.toFixed(4),
    consumeQueueDiskRatio: diskRatio.toFixed(4),
    commitLogDirCapacity: capacity,
    dispatchBehindBytes: String(s.dispatchBehindBytes),
    pageCacheLockTimeMills: '0',
    earliestMessageTimeStamp: String(ctx.bootTimestamp),
    startAcceptSendRequestTimeStamp: String(ctx.bootTimestamp),
    bootTimestamp: String(ctx.bootTimestamp),
    runtime: formatRuntime(Date.now() - ctx.bootTimestamp),
    brokerRole: ctx.config.brokerRole,
    brokerId: String(ctx.config.brokerId),
    flushMode: ctx.config.flushMode,
    diskUsedBytes: String(s.diskUsedBytes),
    remainHowManyDataToFlush: '0',
    sendThreadPoolQueueSize: '0',
    sendThreadPoolQueueCapacity: '10000',
    pullThreadPoolQueueSize: '0',
    pullThreadPoolQueueCapacity: '100000',
    queryThreadPoolQueueSize: '0',
    queryThreadPoolQueueCapacity: '20000',
  };
  // RocketMQ's scheduleMessageOffset_<level> = "delivered,max": how consoles read delay progress
  // through the protocol (BrokerController#getScheduleMessageService().buildRunningStats).
  for (const [level, delivered] of ctx.schedule?.offsetTable().entries ?? []) {
    const max = Math.max(0, ctx.store.getMaxOffset('SCHEDULE_TOPIC_XXXX', level - 1));
    table[`scheduleMessageOffset_${level}`] = `${delivered},${max}`;
  }
  return ok(req, undefined, jsonBody({ table }));
}

function formatRuntime(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `[ ${Math.floor(s / 86400)} days, ${Math.floor(s / 3600) % 24} hours, ${Math.floor(s / 60) % 60} minutes, ${s % 60} seconds ]`;
}
