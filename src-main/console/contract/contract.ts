/**
 * The console contract: channel `domain:action` → request schema + response type. Both transports
 * (Electron IPC, headless WebSocket JSON-RPC) validate with these schemas through dispatch.ts;
 * the renderer types its calls with ChannelMap.
 */
import type { z } from 'zod';
import type { Channel, EventTopic } from './channels.js';
import type * as D from './dto.js';
import type * as O from './ops-dto.js';
import { schemas as baseSchemas } from './schemas.js';
import { opsSchemas } from './ops-schemas.js';
import type * as A from './admin-dto.js';
import { adminSchemas } from './admin-schemas.js';

/** Every channel's request schema: the console's own pages, then the operator pages. */
export const schemas = { ...baseSchemas, ...opsSchemas, ...adminSchemas };
export type Schemas = typeof schemas;

export interface Responses {
  'app:info': D.AppInfo;
  'cluster:overview': D.ClusterOverview;
  'topic:list': D.TopicList;
  'topic:detail': D.TopicDetail;
  'topic:create': D.Done;
  'topic:delete': D.Done;
  'group:list': D.GroupList;
  'group:detail': D.GroupDetail;
  'group:reset-offset': D.ResetOffsetResult;
  'group:create': D.Done;
  'group:delete': D.Done;
  'message:browse': D.BrowseResult;
  'message:by-id': D.MessageByIdResult;
  'message:by-key': D.MessageQueryResult;
  'message:by-time': D.MessageQueryResult;
  'playground:send': D.SendResult;
  'playground:tail': D.TailStarted;
  'playground:tail-stop': D.Done;
  'connection:list': D.ConnectionInfo[];
  'connection:save': D.ConnectionInfo;
  'connection:remove': D.Done;
  'connection:test': D.ConnectionTestResult;
  'trace:by-id': O.TraceResult;
  'trace:by-key': O.TraceResult;
  'dlq:groups': O.DlqGroupInfo[];
  'dlq:list': O.DlqListResult;
  'dlq:view': D.MessageDetail;
  'dlq:resend-preview': O.ResendPreview;
  'dlq:resend': O.JobInfo;
  'dlq:export': O.JobInfo;
  'job:list': O.JobInfo[];
  'job:get': O.JobInfo;
  'job:cancel': O.JobInfo;
  'job:receipts': O.ReceiptPage;
  'job:receipts-export': O.JobInfo;
  'message:resend': O.ResendOneResult;
  'delay:stats': O.DelayStats;
  'delay:list': O.DelayWaitingList;
  'tx:stats': O.TxStats;
  'tx:list': O.TxList;
  'tx:resolve': O.TxResolveResult;
  'tx:recheck': O.TxRecheckResult;
  'audit:list': O.AuditEntry[];
  'group:lag-history': O.LagHistory;
  'group:stuck-inspect': O.StuckInspect;
  'group:skip-message': O.SkipResult;
  'group:offset-restore': O.RestoreResult;
  'migration:diagnose': O.MigrationDiagnosis;
  'migration:add-queues': D.Done;
  'migration:start': O.MigrationJob;
  'migration:list': O.MigrationJob[];
  'migration:get': O.MigrationJob;
  'migration:control': O.MigrationJob;
  'overview:badges': O.OverviewBadges;
  'connection:options-save': A.ConnectionOptions;
  'group:offset-snapshots': A.OffsetSnapshotList;
  'op:cancel': A.OpCancelResult;
  'settings:embedded-get': A.EmbeddedSettingsView;
  'settings:embedded-save': A.EmbeddedSettingsView;
  'cluster:nodes': A.EmbeddedClusterNodes;
  'node:stop': A.NodeActionResult;
  'node:kill': A.NodeActionResult;
  'node:restart': A.NodeActionResult;
  'node:promote': A.NodeActionResult;
}

export interface Events {
  'playground:tail': D.TailEvent;
  'job:progress': O.JobInfo;
  'migration:progress': O.MigrationJob;
  'op:progress': A.OpProgress;
}

// Compile-time agreement of the three tables (channels.ts, schemas.ts, Responses).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const channelsMatchSchemas: Same<Channel, keyof Schemas> = true;
const channelsMatchResponses: Same<Channel, keyof Responses> = true;
const eventsMatch: Same<EventTopic, keyof Events> = true;
void channelsMatchSchemas;
void channelsMatchResponses;
void eventsMatch;

/** What a caller sends (defaults optional) and what a handler receives (defaults filled). */
export type RequestOf<C extends Channel> = z.input<Schemas[C]>;
export type ParsedRequestOf<C extends Channel> = z.output<Schemas[C]>;
export type ResponseOf<C extends Channel> = Responses[C];

export type ChannelMap = { [C in Channel]: { req: RequestOf<C>; res: ResponseOf<C> } };

export const CONTRACT: { [C in Channel]: { req: Schemas[C] } } = Object.fromEntries(
  Object.entries(schemas).map(([channel, req]) => [channel, { req }]),
) as { [C in Channel]: { req: Schemas[C] } };

export type { Channel, EventTopic };
