/**
 * Response types of the operator pages (issue 6): trace, dead letters, delay and transaction
 * monitors, lag history and stuck queues, backlog migration, overview badges, and the jobs that
 * run behind them (resend, export, migration). Same rules as dto.ts: `null` is a value the cluster
 * did not give (shown as unknown), times are epoch milliseconds. Pure types.
 */
import type { GroupQueueOffset, MessageDetail, MessageRow } from './dto.js';

// ---------------------------------------------------------------------------------------------
// Client trace records (RMQ_SYS_TRACE_TOPIC, reference §12)

export interface TracePubRecord {
  type: 'Pub';
  timeStamp: number;
  regionId: string;
  groupName: string;
  topic: string;
  msgId: string;
  tags: string;
  keys: string;
  storeHost: string;
  bodyLength: number;
  costTime: number;
  /** 0 Normal, 1 Trans half, 2 Trans commit, 3 Delay, 4 Order. */
  msgType: number;
  offsetMsgId: string | null;
  success: boolean;
  clientHost: string | null;
}

export interface TraceSubBeforeRecord {
  type: 'SubBefore';
  timeStamp: number;
  regionId: string;
  groupName: string;
  requestId: string;
  msgId: string;
  retryTimes: number;
  keys: string;
}

export interface TraceSubAfterRecord {
  type: 'SubAfter';
  requestId: string;
  msgId: string;
  costTime: number;
  success: boolean;
  keys: string;
  /** ConsumeReturnType ordinal: 0 SUCCESS, 1 TIME_OUT, 2 EXCEPTION, 3 RETURNNULL, 4 FAILED. */
  contextCode: number | null;
  timeStamp: number | null;
  groupName: string | null;
}

export interface TraceEndTransactionRecord {
  type: 'EndTransaction';
  timeStamp: number;
  regionId: string;
  groupName: string;
  topic: string;
  msgId: string;
  tags: string;
  keys: string;
  storeHost: string;
  msgType: number;
  transactionId: string;
  /** COMMIT_MESSAGE, ROLLBACK_MESSAGE or UNKNOW. */
  transactionState: string;
  fromTransactionCheck: boolean;
}

export interface TraceRecallRecord {
  type: 'Recall';
  timeStamp: number;
  regionId: string;
  groupName: string;
  topic: string;
  msgId: string;
  success: boolean;
}

export type TraceRecord = TracePubRecord | TraceSubBeforeRecord | TraceSubAfterRecord | TraceEndTransactionRecord | TraceRecallRecord;

// ---------------------------------------------------------------------------------------------
// Trace

/**
 * done: it happened (time known or not); failed: it happened and failed; pending: not yet (e.g.
 * not consumed so far); absent: we looked and it is not there; unknown: we could not tell (no
 * client trace records, a broker did not answer, a bounded scan stopped early).
 */
export type TraceStatus = 'done' | 'failed' | 'pending' | 'absent' | 'unknown';

export type TraceEventKind =
  | 'produced' | 'stored' | 'client-pub' | 'end-transaction' | 'delivered' | 'consumed' | 'consume-failed'
  | 'retry' | 'dlq' | 'offset' | 'resend';

export interface TraceEvent {
  at: number | null;
  kind: TraceEventKind;
  status: TraceStatus;
  /** Where the fact comes from: the broker's stored messages and offsets, client trace records, or this console. */
  source: 'broker' | 'client-trace' | 'console';
  group: string | null;
  topic: string | null;
  msgId: string | null;
  host: string | null;
  costMs: number | null;
  reconsumeTimes: number | null;
  /** Free detail (a transaction state, a failure reason, a queue position). */
  detail: string | null;
}

export interface TraceGroup {
  group: string;
  /** Consumed = the committed offset of the message's queue is past it. */
  consumption: 'consumed' | 'not-yet' | 'unknown';
  consumerOffset: number | null;
  onlineClients: number | null;
  retries: MessageRow[];
  dlq: MessageRow[];
  /** How the retry/DLQ copies were looked for: an index hit is exact; a bounded scan may be partial. */
  copiesSearch: 'index' | 'scan' | 'scan-partial' | 'no-topic';
  clientRecords: number;
}

export interface ResendRecord {
  id: string;
  at: number;
  jobId: string | null;
  connectionId: string;
  group: string | null;
  /** The resent copy's source (a DLQ entry or any message), by offset id. */
  sourceMsgId: string;
  originMsgId: string | null;
  originUniqKey: string | null;
  targetTopic: string;
  newMsgId: string | null;
  newUniqKey: string | null;
}

export interface MessageTrace {
  message: MessageDetail;
  producerGroup: string | null;
  groups: TraceGroup[];
  records: TraceRecord[];
  resends: ResendRecord[];
  events: TraceEvent[];
  /** RMQ_SYS_TRACE_TOPIC exists on the cluster (clients may still send no records). */
  traceTopic: boolean;
  errors: string[];
}

export interface TraceResult {
  traces: MessageTrace[];
  /** Messages that matched (a key may match several); traces holds the first maxMessages. */
  matched: number;
  via: 'uniqueKey' | 'offsetId' | 'key';
}

// ---------------------------------------------------------------------------------------------
// Dead letters

export interface DlqGroupInfo {
  group: string;
  topic: string;
  brokers: string[];
  /** Messages stored (max − min offsets), null when no broker answered. */
  messages: number | null;
}

export interface DlqRow extends MessageRow {
  /** RETRY_TOPIC: the topic the message was consumed from. */
  originTopic: string | null;
  /** ORIGIN_MESSAGE_ID: the first original's id. */
  originMsgId: string | null;
  /** Times this console resent it (any job). */
  resent: number;
}

export interface CountBy {
  value: string | null;
  count: number;
}

export interface DlqListResult {
  group: string;
  topic: string;
  exists: boolean;
  messages: DlqRow[];
  /** Messages stored in the DLQ, all brokers. */
  total: number;
  scanned: number;
  matched: number;
  byOriginTopic: CountBy[];
  byTag: CountBy[];
  partial: boolean;
  stoppedBy: 'rows' | 'time' | null;
  errors: string[];
}

export interface ResendPreview {
  matched: number;
  byTarget: CountBy[];
  /** Matched messages with no RETRY_TOPIC: they can only go to the retry topic. */
  noOrigin: number;
  sample: DlqRow[];
  partial: boolean;
  /** Give this back to dlq:resend: it binds the resend to what was previewed. */
  previewToken: string;
  expiresAt: number;
}

export type JobKind = 'dlq-resend' | 'dlq-export' | 'receipts-export';
export type JobState = 'running' | 'done' | 'cancelled' | 'failed';

export interface JobInfo {
  id: string;
  kind: JobKind;
  state: JobState;
  connectionId: string;
  group: string | null;
  requestId: string;
  /** Known when the selection was counted first; null while a filter scan runs. */
  total: number | null;
  done: number;
  succeeded: number;
  failed: number;
  skipped: number;
  startedAt: number;
  finishedAt: number | null;
  /** Messages per second so far. */
  rate: number;
  error: string | null;
  /** Resend: the rate limit; export: null. */
  rateLimit: number | null;
  target: string | null;
  format: 'jsonl' | 'csv' | null;
  bytes: number;
  /** Export: the file name offered; downloadUrl (browser) or savedTo (desktop) once done. */
  fileName: string | null;
  downloadUrl: string | null;
  savedTo: string | null;
}

export interface Receipt {
  seq: number;
  sourceMsgId: string;
  originMsgId: string | null;
  uniqKey: string | null;
  targetTopic: string | null;
  status: 'sent' | 'failed' | 'skipped';
  newMsgId: string | null;
  newUniqKey: string | null;
  reason: string | null;
  at: number;
}

export interface ReceiptPage {
  jobId: string;
  receipts: Receipt[];
  total: number;
  failed: number;
}

// ---------------------------------------------------------------------------------------------
// Delay monitor

export interface DelayLevelRow {
  level: number;
  delayMs: number;
  /** Waiting = SCHEDULE_TOPIC_XXXX max offset − the scheduler's progress (GET_ALL_DELAY_OFFSET). */
  waiting: number;
  nextDue: number | null;
  oldestStored: number | null;
  /** From progress samples over the last minutes; null until two samples exist. */
  deliveredPerMinute: number | null;
  perBroker: Array<{ brokerName: string; waiting: number; progress: number | null; maxOffset: number; nextDue: number | null }>;
}

export interface DueBucket {
  from: number;
  to: number;
  count: number;
}

export interface DelayStats {
  levels: DelayLevelRow[];
  totalWaiting: number;
  nextDue: number | null;
  /** Already due but not delivered yet (the scheduler is behind). */
  overdue: number;
  /** Twelve 5-minute buckets from now. */
  dueNextHour: DueBucket[];
  dueLater: number;
  sampledAt: number;
  errors: string[];
}

export interface DelayWaitingRow {
  brokerName: string;
  level: number;
  queueOffset: number;
  msgId: string;
  uniqKey: string | null;
  realTopic: string | null;
  realQueueId: number | null;
  keys: string | null;
  tags: string | null;
  storeTimestamp: number;
  dueAt: number;
  bodySize: number;
}

export interface DelayWaitingList {
  rows: DelayWaitingRow[];
  scanned: number;
  partial: boolean;
  errors: string[];
}

// ---------------------------------------------------------------------------------------------
// Transaction monitor

export interface TxHalfRow {
  brokerName: string;
  /** Offset id of the latest copy: what a manual commit/rollback names. */
  msgId: string;
  uniqKey: string | null;
  transactionId: string | null;
  producerGroup: string | null;
  topic: string | null;
  queueId: number | null;
  keys: string | null;
  tags: string | null;
  bornTimestamp: number;
  ageMs: number;
  checkTimes: number;
  /** Store time of the latest copy when it was re-appended by a check. */
  lastCheckAt: number | null;
  /** The producer's last answer, from client trace records (EndTransaction); null when none recorded. */
  lastAnswer: string | null;
  halfOffset: number;
  originalHalfOffset: number;
}

export interface TxDiscardedRow {
  brokerName: string;
  msgId: string;
  uniqKey: string | null;
  producerGroup: string | null;
  topic: string | null;
  keys: string | null;
  checkTimes: number;
  bornTimestamp: number;
  storeTimestamp: number;
  /** Put back under check from this console already (audit log). */
  requeuedAt: number | null;
}

export interface AgeBucket {
  /** Lower bound in ms; upper bound exclusive, null = no bound. */
  fromMs: number;
  toMs: number | null;
  count: number;
}

export interface TxStats {
  pending: number;
  oldestAgeMs: number | null;
  ageHistogram: AgeBucket[];
  /** Closed transactions seen in the scanned window, told apart by a committed copy in the real topic. */
  committed: number;
  rolledBack: number;
  /** Closed, not classified (lookup budget). */
  unclassified: number;
  discarded: number;
  perBroker: Array<{ brokerName: string; halfMaxOffset: number; checkedUpTo: number | null; opMaxOffset: number }>;
  partial: boolean;
  errors: string[];
}

export interface TxList {
  pending: TxHalfRow[];
  discarded: TxDiscardedRow[];
  partial: boolean;
  errors: string[];
}

export interface TxResolveResult {
  outcome: 'COMMIT' | 'ROLLBACK';
  auditId: string;
  /** Commit: the message is now in its topic; rollback: the half message no longer shows as pending. */
  verified: boolean;
}

export interface TxRecheckResult {
  newMsgId: string | null;
  auditId: string;
}

export type AuditAction =
  | 'tx-commit' | 'tx-rollback' | 'tx-recheck' | 'offset-skip' | 'offset-restore' | 'topic-add-queues' | 'message-resend'
  | 'migration-start' | 'migration-cancel' | 'migration-restore'
  // Every other write, recorded by dispatch (src-main/console/audit.ts); 'write' is a write channel with no name of its own yet.
  | 'topic-create' | 'topic-delete' | 'group-create' | 'group-delete' | 'offset-reset' | 'message-send' | 'dlq-resend'
  | 'connection-save' | 'connection-remove' | 'connection-options' | 'embedded-settings'
  | 'node-stop' | 'node-kill' | 'node-restart' | 'node-promote' | 'write';

export interface AuditEntry {
  id: string;
  at: number;
  action: AuditAction;
  connectionId: string;
  target: string;
  detail: string;
  result: 'ok' | 'failed';
  error: string | null;
  /** Who: the OS user and the page's host (desktop window, or web console from an address). Absent on old entries. */
  actor?: string | null;
  /** The console channel the write came through (absent for background steps of a job). */
  channel?: string | null;
}

// ---------------------------------------------------------------------------------------------
// Lag history and stuck queues

export interface LagSample {
  at: number;
  lag: number;
  /** Messages per second between this sample and the previous one. */
  consumeRate: number | null;
  produceRate: number | null;
}

export interface LagTrend {
  state: 'idle' | 'draining' | 'growing' | 'steady' | 'unknown';
  /** Draining: about this many minutes at the recent rate. */
  drainsInMinutes: number | null;
  slopePerMinute: number | null;
}

export interface StuckQueue {
  topic: string;
  brokerName: string;
  queueId: number;
  consumerOffset: number;
  brokerOffset: number;
  lag: number;
  /** Since when the consumer offset has not moved (first sample showing it). */
  since: number;
}

export interface LagHistory {
  group: string;
  intervalMs: number;
  samples: LagSample[];
  trend: LagTrend;
  stuck: StuckQueue[];
  current: GroupQueueOffset[];
  onlineClients: number | null;
}

export interface OffsetSnapshot {
  id: string;
  at: number;
  connectionId: string;
  group: string;
  topic: string;
  reason: string;
  queues: Array<{ brokerName: string; queueId: number; offset: number }>;
  restoredAt: number | null;
}

export interface StuckInspect {
  group: string;
  topic: string;
  brokerName: string;
  queueId: number;
  consumerOffset: number | null;
  brokerOffset: number | null;
  message: MessageDetail | null;
  /** Highest reconsume count seen for it (retry copies), 0 for the original. */
  reconsumeTimes: number | null;
  retryCopies: MessageRow[];
  dlqTwin: MessageRow[];
  consumersOnline: number;
  snapshots: OffsetSnapshot[];
}

export interface SkipResult {
  snapshotId: string;
  previousOffset: number;
  newOffset: number;
  consumersOnline: number;
}

export interface RestoreResult {
  snapshotId: string;
  queues: Array<{ brokerName: string; queueId: number; offset: number }>;
}

export interface ResendOneResult {
  targetTopic: string;
  newMsgId: string | null;
  newUniqKey: string;
  resendId: string;
}

// ---------------------------------------------------------------------------------------------
// Backlog migration

export interface MigrationDiagnosis {
  group: string;
  topic: string;
  queues: Array<{ brokerName: string; queueId: number; brokerOffset: number; consumerOffset: number; lag: number }>;
  totalLag: number;
  /** Messages per second. */
  consumeRate: number | null;
  produceRate: number | null;
  rateSource: 'history' | 'broker' | 'none';
  drainMinutes: number | null;
  growing: boolean;
  onlineConsumers: number;
  readQueues: number;
  writeQueuesPerBroker: Array<{ brokerName: string; readQueueNums: number; writeQueueNums: number }>;
  ordered: boolean;
  recommendation: 'none' | 'add-consumers' | 'add-queues' | 'migrate';
  /** Add-consumers: this many more consumers each get queues (beyond that they idle). */
  consumersThatHelp: number;
}

export type MigrationState =
  | 'snapshotting' | 'creating-topic' | 'forwarding' | 'draining' | 'verifying' | 'restoring'
  | 'done' | 'cancelling' | 'cancelled' | 'failed';

export interface MigrationQueue {
  brokerName: string;
  queueId: number;
  startOffset: number;
  endOffset: number;
  cursor: number;
}

export interface MigrationCheck {
  expected: number;
  forwarded: number;
  duplicates: number;
  missing: number;
  /** Up to 100 "broker/queue@offset" entries each. */
  missingList: string[];
  duplicateList: string[];
  ok: boolean;
}

export interface MigrationJob {
  id: string;
  connectionId: string;
  group: string;
  topic: string;
  tempTopic: string;
  tempGroup: string;
  tempQueuesPerBroker: number;
  state: MigrationState;
  paused: boolean;
  /** Where a failed or cancelled job stopped. */
  failedIn: MigrationState | null;
  createdAt: number;
  updatedAt: number;
  queues: MigrationQueue[];
  total: number;
  forwarded: number;
  rate: number;
  rateLimit: number;
  tempLag: number | null;
  drainedAt: number | null;
  autoRestore: boolean;
  check: MigrationCheck | null;
  error: string | null;
  log: Array<{ at: number; text: string }>;
  /** What the page may offer now (migration:control actions). */
  actions: Array<'pause' | 'resume' | 'cancel' | 'restore' | 'retry'>;
}

// ---------------------------------------------------------------------------------------------
// Overview badges

export interface OverviewBadges {
  backlog: { totalLag: number; groupsLagging: number; worstGroup: string | null; worstLag: number; stuckQueues: number } | null;
  delay: { waiting: number; nextDue: number | null; overdue: number } | null;
  transactions: { pending: number; oldestAgeMs: number | null; discarded: number } | null;
  errors: string[];
}
