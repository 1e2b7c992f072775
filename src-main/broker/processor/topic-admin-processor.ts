/**
 * Topic admin on the broker: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
 * GET_ALL_TOPIC_CONFIG (21), GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305). RocketMQ: AdminBrokerProcessor.
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { BrokerContext } from '../broker-context.js';
import { fail, ok, withHeader, jsonBody } from './response-util.js';
import { isSystemTopic, topicNameProblem, Perm } from '../metadata/system-names.js';
import type { TopicConfig } from '../namesrv/route-types.js';

export function processCreateTopic(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const topic = h.str('topic');
    const problem = topicNameProblem(topic);
    if (problem) return fail(req, ResponseCode.INVALID_PARAMETER, problem);
    if (topic === ctx.config.clusterName || topic === ctx.config.brokerName || topic === 'TBW102') {
      return fail(req, ResponseCode.INVALID_PARAMETER, `The topic[${topic}] is conflict with system topic.`);
    }
    const readQueueNums = h.int('readQueueNums');
    const writeQueueNums = h.int('writeQueueNums');
    const perm = h.optInt('perm', Perm.READ | Perm.WRITE) ?? 6;
    if (readQueueNums < 1 || writeQueueNums < 1 || readQueueNums > 1024 || writeQueueNums > 1024) {
      return fail(req, ResponseCode.INVALID_PARAMETER, 'queue numbers must be between 1 and 1024');
    }
    if (perm < 0 || perm > 15) return fail(req, ResponseCode.INVALID_PARAMETER, `perm ${perm} is invalid`);
    const filterType = h.optStr('topicFilterType') === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG';
    const config: TopicConfig = {
      topicName: topic,
      readQueueNums,
      writeQueueNums,
      perm,
      topicFilterType: filterType,
      topicSysFlag: h.optInt('topicSysFlag', 0) ?? 0,
      order: h.bool('order'),
    };
    ctx.topics.upsert(config);
    ctx.registerToNameServers();
    return ok(req);
  });
}

export function processDeleteTopic(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  return withHeader(req, (h) => {
    const topic = h.str('topic');
    if (isSystemTopic(topic)) return fail(req, ResponseCode.INVALID_PARAMETER, `The topic[${topic}] is conflict with system topic.`);
    ctx.topics.remove(topic);
    ctx.offsets.removeTopic(topic);
    ctx.store.deleteTopic(topic);
    ctx.registerToNameServers();
    return ok(req);
  });
}

export function processGetAllTopicConfig(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (const t of ctx.topics.all()) topicConfigTable[t.topicName] = t;
  return ok(req, undefined, jsonBody({ dataVersion: ctx.topics.dataVersion, topicConfigTable }));
}

export function processGetSystemTopicListFromBroker(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const topicList = ctx.topics.all().map((t) => t.topicName).filter((t) => isSystemTopic(t)
    || t === ctx.config.clusterName || t === ctx.config.brokerName || t.endsWith('_REPLY_TOPIC'));
  return ok(req, undefined, jsonBody({ topicList }));
}
