/**
 * The broker's request table: request code → processor (RocketMQ BrokerController#registerProcessor).
 * A code missing here is answered REQUEST_CODE_NOT_SUPPORTED by the remoting server.
 */
import type { Logger } from '../../remoting/logger.js';
import type { RemotingServer } from '../../remoting/remoting-server.js';
import type { RequestProcessor } from '../../remoting/remoting-connection.js';
import { RequestCode } from '../../remoting/request-code.js';
import type { BrokerContext } from '../broker-context.js';
import type { QueueLockManager } from '../client/queue-lock-manager.js';
import type { TransactionService } from '../transaction/transaction-service.js';
import { processGetBrokerConfig, processGetAllDelayOffset } from './broker-config-processor.js';
import { processHeartbeat, processUnregisterClient, processCheckClientConfig } from './client-manage-processor.js';
import {
  processQueryConsumerOffset, processUpdateConsumerOffset, processGetConsumerListByGroup,
} from './consumer-manage-processor.js';
import { processEndTransaction } from './end-transaction-processor.js';
import {
  processUpdateGroup, processGetAllGroups, processDeleteGroup, processConsumerConnectionList,
  processProducerConnectionList, processQueryTopicConsumeByWho, processGetAllConsumerOffset,
} from './group-admin-processor.js';
import { processLockBatch, processUnlockBatch } from './lock-processor.js';
import {
  processGetMaxOffset, processGetMinOffset, processEarliestStoreTime, processSearchOffset, processResetOffset,
} from './offset-processor.js';
import type { PullProcessor } from './pull-processor.js';
import { processQueryMessage, processViewMessageById } from './query-processor.js';
import { processConsumerSendMsgBack } from './send-back-processor.js';
import { processSend } from './send-processor.js';
import { processTopicStats, processConsumeStats, processRuntimeInfo } from './stats-processor.js';
import {
  processCreateTopic, processDeleteTopic, processGetAllTopicConfig, processGetSystemTopicListFromBroker,
} from './topic-admin-processor.js';

/** What the table's processors need from their node beyond the BrokerContext. */
export interface ProcessorNode extends BrokerContext {
  readonly queueLocks: QueueLockManager;
  /** Created at start, before the table is registered. */
  readonly transactions: TransactionService | null;
}

export function registerBrokerProcessors(server: RemotingServer, node: ProcessorNode, pull: PullProcessor, logger: Logger): void {
  const on = (code: number, fn: RequestProcessor): void => server.registerProcessor(code, fn);
  on(RequestCode.SEND_MESSAGE, (r, c) => processSend(node, r, c));
  on(RequestCode.SEND_MESSAGE_V2, (r, c) => processSend(node, r, c));
  on(RequestCode.SEND_BATCH_MESSAGE, (r, c) => processSend(node, r, c));
  on(RequestCode.PULL_MESSAGE, (r, c) => pull.process(r, c));
  on(RequestCode.QUERY_CONSUMER_OFFSET, (r) => processQueryConsumerOffset(node, r));
  on(RequestCode.UPDATE_CONSUMER_OFFSET, (r) => processUpdateConsumerOffset(node, r));
  on(RequestCode.GET_CONSUMER_LIST_BY_GROUP, (r) => processGetConsumerListByGroup(node, r));
  on(RequestCode.HEART_BEAT, (r, c) => processHeartbeat(node, r, c));
  on(RequestCode.UNREGISTER_CLIENT, (r) => processUnregisterClient(node, r));
  on(RequestCode.CHECK_CLIENT_CONFIG, (r) => processCheckClientConfig(node, r));
  on(RequestCode.UPDATE_AND_CREATE_TOPIC, (r) => processCreateTopic(node, r));
  on(RequestCode.DELETE_TOPIC_IN_BROKER, (r) => processDeleteTopic(node, r));
  on(RequestCode.GET_ALL_TOPIC_CONFIG, (r) => processGetAllTopicConfig(node, r));
  on(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_BROKER, (r) => processGetSystemTopicListFromBroker(node, r));
  on(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, (r) => processUpdateGroup(node, r));
  on(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, (r) => processGetAllGroups(node, r));
  on(RequestCode.DELETE_SUBSCRIPTIONGROUP, (r) => processDeleteGroup(node, r));
  on(RequestCode.GET_CONSUMER_CONNECTION_LIST, (r) => processConsumerConnectionList(node, r));
  on(RequestCode.GET_PRODUCER_CONNECTION_LIST, (r) => processProducerConnectionList(node, r));
  on(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, (r) => processQueryTopicConsumeByWho(node, r));
  on(RequestCode.GET_ALL_CONSUMER_OFFSET, (r) => processGetAllConsumerOffset(node, r));
  on(RequestCode.GET_TOPIC_STATS_INFO, (r) => processTopicStats(node, r));
  on(RequestCode.GET_CONSUME_STATS, (r) => processConsumeStats(node, r));
  on(RequestCode.GET_BROKER_RUNTIME_INFO, (r) => processRuntimeInfo(node, r));
  on(RequestCode.GET_MAX_OFFSET, (r) => processGetMaxOffset(node, r));
  on(RequestCode.GET_MIN_OFFSET, (r) => processGetMinOffset(node, r));
  on(RequestCode.GET_EARLIEST_MSG_STORETIME, (r) => processEarliestStoreTime(node, r));
  on(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, (r) => processSearchOffset(node, r));
  on(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, (r) => processResetOffset(node, r));
  on(RequestCode.QUERY_MESSAGE, (r) => processQueryMessage(node, r));
  on(RequestCode.VIEW_MESSAGE_BY_ID, (r) => processViewMessageById(node, r));
  on(RequestCode.GET_BROKER_CONFIG, (r) => processGetBrokerConfig(node, r));
  on(RequestCode.GET_ALL_DELAY_OFFSET, (r) => processGetAllDelayOffset(node, r));
  on(RequestCode.CONSUMER_SEND_MSG_BACK, (r, c) => processConsumerSendMsgBack(node, r, c));
  on(RequestCode.END_TRANSACTION, (r, c) => processEndTransaction(node, node.transactions!, logger, r, c));
  on(RequestCode.LOCK_BATCH_MQ, (r) => processLockBatch(node, node.queueLocks, r));
  on(RequestCode.UNLOCK_BATCH_MQ, (r) => processUnlockBatch(node, node.queueLocks, r));
}
