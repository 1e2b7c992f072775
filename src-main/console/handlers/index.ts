/** Channel → handler, one file per domain. The type makes a missing handler a compile error. */
import type { Handlers } from '../dispatch.js';
import { appInfo } from './app.js';
import { clusterOverview } from './cluster.js';
import { topicCreate, topicDelete, topicDetail, topicList } from './topic.js';
import { groupCreate, groupDelete, groupDetail, groupList, groupResetOffset } from './group.js';
import { messageBrowse, messageById, messageByKey, messageByTime } from './message.js';
import { playgroundSend, playgroundTail, playgroundTailStop } from './playground.js';
import { connectionList, connectionRemove, connectionSave, connectionTest } from './connection.js';
import { traceById, traceByKey } from './trace.js';
import { dlqExport, dlqGroups, dlqList, dlqResend, dlqResendPreview, dlqView, messageResend } from './dlq.js';
import { jobCancel, jobGet, jobList, jobReceipts, jobReceiptsExport } from './jobs.js';
import { delayList, delayStats } from './delay.js';
import { auditList, txList, txRecheck, txResolve, txStats } from './tx.js';
import { groupLagHistory, groupOffsetRestore, groupSkipMessage, groupStuckInspect } from './backlog.js';
import {
  migrationAddQueues, migrationControl, migrationDiagnose, migrationGet, migrationList, migrationStart,
} from './migration.js';
import { overviewBadges } from './overview-badges.js';
import { connectionOptionsSave, groupOffsetSnapshots, opCancel, settingsEmbeddedGet, settingsEmbeddedSave } from './admin.js';
import { clusterNodes, nodeKill, nodePromote, nodeRestart, nodeStop } from './nodes.js';

export const HANDLERS: Handlers = {
  'app:info': appInfo,
  'cluster:overview': clusterOverview,
  'topic:list': topicList,
  'topic:detail': topicDetail,
  'topic:create': topicCreate,
  'topic:delete': topicDelete,
  'group:list': groupList,
  'group:detail': groupDetail,
  'group:reset-offset': groupResetOffset,
  'group:create': groupCreate,
  'group:delete': groupDelete,
  'message:browse': messageBrowse,
  'message:by-id': messageById,
  'message:by-key': messageByKey,
  'message:by-time': messageByTime,
  'playground:send': playgroundSend,
  'playground:tail': playgroundTail,
  'playground:tail-stop': playgroundTailStop,
  'connection:list': connectionList,
  'connection:save': connectionSave,
  'connection:remove': connectionRemove,
  'connection:test': connectionTest,
  'trace:by-id': traceById,
  'trace:by-key': traceByKey,
  'dlq:groups': dlqGroups,
  'dlq:list': dlqList,
  'dlq:view': dlqView,
  'dlq:resend-preview': dlqResendPreview,
  'dlq:resend': dlqResend,
  'dlq:export': dlqExport,
  'job:list': jobList,
  'job:get': jobGet,
  'job:cancel': jobCancel,
  'job:receipts': jobReceipts,
  'job:receipts-export': jobReceiptsExport,
  'message:resend': messageResend,
  'delay:stats': delayStats,
  'delay:list': delayList,
  'tx:stats': txStats,
  'tx:list': txList,
  'tx:resolve': txResolve,
  'tx:recheck': txRecheck,
  'audit:list': auditList,
  'group:lag-history': groupLagHistory,
  'group:stuck-inspect': groupStuckInspect,
  'group:skip-message': groupSkipMessage,
  'group:offset-restore': groupOffsetRestore,
  'migration:diagnose': migrationDiagnose,
  'migration:add-queues': migrationAddQueues,
  'migration:start': migrationStart,
  'migration:list': migrationList,
  'migration:get': migrationGet,
  'migration:control': migrationControl,
  'overview:badges': overviewBadges,
  'connection:options-save': connectionOptionsSave,
  'group:offset-snapshots': groupOffsetSnapshots,
  'op:cancel': opCancel,
  'settings:embedded-get': settingsEmbeddedGet,
  'settings:embedded-save': settingsEmbeddedSave,
  'cluster:nodes': clusterNodes,
  'node:stop': nodeStop,
  'node:kill': nodeKill,
  'node:restart': nodeRestart,
  'node:promote': nodePromote,
};
