/** GET_BROKER_CONFIG (26) and GET_ALL_DELAY_OFFSET (45). RocketMQ: AdminBrokerProcessor. */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import type { BrokerContext } from '../broker-context.js';
import { ok, jsonBody } from './response-util.js';
import { NumberKeyMap } from '../../remoting/fastjson.js';
import { formatDelayLevels } from '../schedule/schedule-routing.js';

/** Body is Java properties text, as mqadmin getBrokerConfig prints it. */
export function processGetBrokerConfig(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const c = ctx.config;
  const props: Record<string, string | number | boolean> = {
    brokerClusterName: c.clusterName,
    brokerName: c.brokerName,
    brokerId: c.brokerId,
    brokerIP1: c.host,
    listenPort: ctx.address.split(':')[1] ?? '',
    namesrvAddr: c.namesrvAddrs.join(';'),
    brokerRole: c.brokerRole,
    flushDiskType: c.flushMode === 'SYNC' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
    flushIntervalCommitLog: c.flushIntervalMs,
    autoCreateTopicEnable: c.autoCreateTopicEnable,
    autoCreateSubscriptionGroup: c.autoCreateSubscriptionGroup,
    defaultTopicQueueNums: c.defaultTopicQueueNums,
    brokerPermission: c.brokerPermission,
    maxMessageSize: c.maxMessageSize,
    mappedFileSizeCommitLog: c.commitLogSegmentSize,
    storePathRootDir: c.dataDir,
    messageDelayLevel: formatDelayLevels(ctx.delayLevels),
    regionId: c.regionId,
  };
  const text = Object.entries(props).map(([k, v]) => `${k}=${String(v)}`).join('\n') + '\n';
  return ok(req, { version: JSON.stringify(ctx.topics.dataVersion) }, Buffer.from(text, 'utf8'));
}

/**
 * Body `{"offsetTable":{1:<next offset>,2:…}}` (DelayOffsetSerializeWrapper, fastjson's bare
 * numeric keys): the next SCHEDULE_TOPIC_XXXX queue offset each level will deliver.
 */
export function processGetAllDelayOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const offsetTable = ctx.schedule?.offsetTable() ?? new NumberKeyMap<number>([]);
  return ok(req, undefined, jsonBody({ offsetTable }));
}
