/**
 * topic:list / topic:detail / topic:create / topic:delete. The list is the NameServer's topic list
 * joined with each master's GET_ALL_TOPIC_CONFIG (queue counts, permission, order flag); the detail
 * is the route plus GET_TOPIC_STATS_INFO of each broker. RocketMQ: mqadmin topicList/topicStatus/
 * updateTopic/deleteTopic.
 */
import { parseBody, type BrokerTopicConfig } from '../../remoting/admin/mq-admin.js';
import { RequestCode } from '../../remoting/request-code.js';
import { ConsoleError } from '../contract/errors.js';
import type { TopicDetail, TopicQueue, TopicSummary } from '../contract/dto.js';
import type { Handler } from '../dispatch.js';
import {
  brokerGroups, errorText, mapLimit, mastersOrFail, routeBrokers, timeOrNull, topicKind, topicRoute,
} from '../cluster-view.js';
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';

const ROUTE_WAIT_MS = 3000;

export const topicList: Handler<'topic:list'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const [names, groups] = await Promise.all([admin.topicList(), brokerGroups(admin)]);
  const systemNames = new Set<string>([...groups.map((g) => g.brokerName), ...groups.map((g) => g.cluster)].filter((n) => n));
  const errors: string[] = [];
  const configs = new Map<string, Array<{ brokerName: string; config: BrokerTopicConfig }>>();
  await mapLimit(groups.filter((g) => g.master), 8, async (g) => {
    try {
      const table = await admin.allTopicConfig(g.master!);
      for (const [name, config] of Object.entries(table)) {
        const list = configs.get(name) ?? [];
        list.push({ brokerName: g.brokerName, config });
        configs.set(name, list);
      }
    } catch (error) {
      errors.push(`${g.brokerName}: ${errorText(error)}`);
    }
  });
  const all = new Set<string>(names);
  const query = req.query.trim().toLowerCase();
  const topics: TopicSummary[] = [];
  for (const name of all) {
    const kind = topicKind(name, systemNames);
    if (!req.includeSystem && kind !== 'NORMAL') continue;
    if (query && !name.toLowerCase().includes(query)) continue;
    const perBroker = configs.get(name) ?? [];
    const sum = (f: (c: BrokerTopicConfig) => number): number | null =>
      perBroker.length === 0 ? null : perBroker.reduce((s, b) => s + f(b.config), 0);
    topics.push({
      name,
      kind,
      brokers: perBroker.map((b) => b.brokerName).sort(),
      readQueueNums: sum((c) => c.readQueueNums),
      writeQueueNums: sum((c) => c.writeQueueNums),
      perm: perBroker[0]?.config.perm ?? null,
      order: perBroker.length === 0 ? null : perBroker.some((b) => b.config.order === true),
    });
  }
  topics.sort((a, b) => a.name.localeCompare(b.name));
  return { topics, total: all.size, partial: errors.length > 0, errors };
};

async function topicQueues(admin: MQAdmin, brokerName: string, addr: string, topic: string): Promise<TopicQueue[]> {
  const res = await admin.call(addr, RequestCode.GET_TOPIC_STATS_INFO, { topic });
  const body = parseBody(res) as { offsetTable?: Record<string, { minOffset: number; maxOffset: number; lastUpdateTimestamp: number }> };
  return Object.entries(body.offsetTable ?? {}).map(([key, v]) => {
    const [, b, q] = key.split('|');
    return {
      brokerName: b ?? brokerName,
      queueId: Number(q),
      minOffset: Math.max(0, Number(v.minOffset)),
      maxOffset: Math.max(0, Number(v.maxOffset)),
      lastStoreTime: timeOrNull(v.lastUpdateTimestamp),
    };
  });
}

export const topicDetail: Handler<'topic:detail'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const route = await topicRoute(admin, req.topic);
  const brokers = routeBrokers(route);
  const errors: string[] = [];
  const queues: TopicQueue[] = [];
  const groupSet = new Set<string>();
  let anyGroupAnswer = false;
  await mapLimit(brokers, 8, async (b) => {
    if (!b.addr) {
      errors.push(`${b.brokerName}: no master is up`);
      return;
    }
    try {
      queues.push(...(await topicQueues(admin, b.brokerName, b.addr, req.topic)));
    } catch (error) {
      errors.push(`${b.brokerName}: ${errorText(error)}`);
    }
    try {
      for (const g of await admin.topicConsumedBy(b.addr, req.topic)) groupSet.add(g);
      anyGroupAnswer = true;
    } catch {
      // Optional information: a broker without QUERY_TOPIC_CONSUME_BY_WHO leaves the list unknown.
    }
  });
  queues.sort((a, b) => a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId);
  const groups = await brokerGroups(admin);
  const systemNames = new Set<string>([...groups.map((g) => g.brokerName), ...groups.map((g) => g.cluster)]);
  const detail: TopicDetail = {
    topic: req.topic,
    kind: topicKind(req.topic, systemNames),
    brokers: brokers.map(({ brokerName, readQueueNums, writeQueueNums, perm }) => ({ brokerName, readQueueNums, writeQueueNums, perm })),
    queues,
    totalMessages: queues.reduce((s, q) => s + Math.max(0, q.maxOffset - q.minOffset), 0),
    consumerGroups: anyGroupAnswer ? [...groupSet].sort() : null,
    errors,
  };
  return detail;
};

export const topicCreate: Handler<'topic:create'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const groups = await brokerGroups(admin);
  const reserved = new Set<string>([...groups.map((g) => g.brokerName), ...groups.map((g) => g.cluster)]);
  if (topicKind(req.topic, reserved) !== 'NORMAL') {
    throw new ConsoleError('FORBIDDEN', `"${req.topic}" is a system, retry or dead-letter topic name`);
  }
  await mastersOrFail(admin, req.clusterName);
  await admin.createTopic(req.topic, req.readQueueNums, {
    clusterName: req.clusterName, perm: req.perm, order: req.order, readQueueNums: req.readQueueNums, writeQueueNums: req.writeQueueNums,
  });
  // Brokers register the new topic with the NameServer asynchronously; wait (briefly) so the
  // next list or detail call sees it.
  const deadline = Date.now() + ROUTE_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      const route = await admin.routeInfo(req.topic);
      if (route.queueDatas.some((q) => q.readQueueNums === req.readQueueNums && q.writeQueueNums === req.writeQueueNums && q.perm === req.perm)) break;
    } catch {
      // not registered yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ok: true };
};

export const topicDelete: Handler<'topic:delete'> = async (req, ctx) => {
  if (req.confirmName !== req.topic) throw new ConsoleError('CONFLICT', 'The confirmation does not match the topic name; nothing was deleted');
  const admin = ctx.connections.get(req.connectionId).admin;
  const groups = await brokerGroups(admin);
  const reserved = new Set<string>([...groups.map((g) => g.brokerName), ...groups.map((g) => g.cluster)]);
  if (topicKind(req.topic, reserved) === 'SYSTEM') throw new ConsoleError('FORBIDDEN', `"${req.topic}" is a system topic`);
  await topicRoute(admin, req.topic);
  await admin.deleteTopic(req.topic);
  return { ok: true };
};
