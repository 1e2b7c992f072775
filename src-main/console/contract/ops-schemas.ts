/**
 * Request schemas of the operator pages (issue 6). Same rules as schemas.ts: strict objects, capped
 * strings, ranged numbers. Writes that act on many messages or on someone else's transaction carry
 * a proof that the page asked first: a preview token (dlq:resend) or `confirm: true` after a dialog.
 */
import { z } from 'zod';
import { brokerName, connectionId, groupName, offset, search, timestamp, topicName } from './schemas.js';

const id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'not an id');
/** An offset message id (32 or 56 hex digits) or a client unique key. */
export const messageId = z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'not a message id');
const offsetMsgId = z.string().regex(/^([0-9A-Fa-f]{32}|[0-9A-Fa-f]{56})$/, 'not an offset message id');
const key = z.string().min(1).max(255).regex(/^\S+$/, 'a key has no spaces');
const confirm = z.literal(true, { error: 'confirm must be true (the page asks first)' });
/** Picked by the page once per dialog; a second start with the same id returns the first job. */
const requestId = id;

export const MAX_SELECTED_IDS = 10_000;
export const MAX_RESEND_RATE = 100_000;

export const dlqFilter = z
  .object({
    beginTime: timestamp.optional(),
    endTime: timestamp.optional(),
    /** Matches a KEYS value, the UNIQ_KEY, ORIGIN_MESSAGE_ID or the offset id. */
    key: key.optional(),
    originTopic: topicName.optional(),
    /** One tag or `a || b`. */
    tags: z.string().min(1).max(255).optional(),
  })
  .strict()
  .refine((f) => f.beginTime === undefined || f.endTime === undefined || f.endTime >= f.beginTime, {
    message: 'endTime must not be before beginTime',
    path: ['endTime'],
  });

export const dlqSelection = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ids'), msgIds: z.array(offsetMsgId).min(1).max(MAX_SELECTED_IDS) }).strict(),
  z.object({ kind: z.literal('filter'), filter: dlqFilter.default({}) }).strict(),
  /** The messages a finished resend job failed to send. */
  z.object({ kind: z.literal('failed-of'), jobId: id }).strict(),
]);

const resendTarget = z.enum(['origin', 'retry']);
const exportFormat = z.enum(['jsonl', 'csv']);

export const opsSchemas = {
  'trace:by-id': z.object({ connectionId, msgId: messageId, topic: topicName.optional() }).strict(),
  'trace:by-key': z
    .object({ connectionId, topic: topicName, key, maxMessages: z.number().int().min(1).max(10).default(5) })
    .strict(),

  'dlq:groups': z.object({ connectionId }).strict(),
  'dlq:list': z
    .object({
      connectionId,
      group: groupName,
      filter: dlqFilter.default({}),
      /** Rows returned (counts cover everything scanned). */
      limit: z.number().int().min(1).max(2000).default(200),
      maxScan: z.number().int().min(1).max(500_000).default(50_000),
      maxMs: z.number().int().min(100).max(60_000).default(10_000),
    })
    .strict(),
  'dlq:view': z.object({ connectionId, group: groupName, msgId: offsetMsgId }).strict(),
  'dlq:resend-preview': z
    .object({ connectionId, group: groupName, selection: dlqSelection, target: resendTarget.default('origin') })
    .strict(),
  'dlq:resend': z
    .object({
      connectionId,
      group: groupName,
      selection: dlqSelection,
      target: resendTarget.default('origin'),
      ratePerSecond: z.number().int().min(1).max(MAX_RESEND_RATE).default(200),
      requestId,
      previewToken: z.string().min(1).max(128),
    })
    .strict(),
  'dlq:export': z
    .object({
      connectionId,
      group: groupName,
      selection: dlqSelection,
      format: exportFormat,
      bodyEncoding: z.enum(['text', 'base64']).default('text'),
      requestId,
    })
    .strict(),

  'job:list': z.object({}).strict(),
  'job:get': z.object({ jobId: id }).strict(),
  'job:cancel': z.object({ jobId: id }).strict(),
  'job:receipts': z
    .object({
      jobId: id,
      onlyFailed: z.boolean().default(false),
      offset: z.number().int().min(0).max(10_000_000).default(0),
      limit: z.number().int().min(1).max(1000).default(100),
    })
    .strict(),
  'job:receipts-export': z.object({ jobId: id, format: exportFormat, requestId }).strict(),

  'message:resend': z
    .object({
      connectionId,
      msgId: offsetMsgId,
      target: resendTarget,
      /** Needed for target "retry" and recorded with the resend. */
      group: groupName.optional(),
      requestId,
    })
    .strict()
    .refine((r) => r.target !== 'retry' || r.group !== undefined, { message: 'a group is needed to resend to its retry topic', path: ['group'] }),

  'delay:stats': z.object({ connectionId }).strict(),
  'delay:list': z
    .object({
      connectionId,
      search,
      level: z.number().int().min(1).max(64).optional(),
      limit: z.number().int().min(1).max(2000).default(500),
      maxScan: z.number().int().min(1).max(200_000).default(20_000),
    })
    .strict(),

  'tx:stats': z.object({ connectionId }).strict(),
  'tx:list': z.object({ connectionId, search, limit: z.number().int().min(1).max(2000).default(500) }).strict(),
  'tx:resolve': z
    .object({ connectionId, brokerName, msgId: offsetMsgId, action: z.enum(['commit', 'rollback']), confirm })
    .strict(),
  'tx:recheck': z.object({ connectionId, brokerName, msgId: offsetMsgId, confirm, again: z.boolean().default(false) }).strict(),

  'audit:list': z
    // unwrap(): without it zod fills the 'embedded' default and "all connections" cannot be asked for.
    .object({ connectionId: connectionId.unwrap().optional(), limit: z.number().int().min(1).max(1000).default(100) })
    .strict(),

  'group:lag-history': z
    .object({ connectionId, group: groupName, windowMs: z.number().int().min(60_000).max(24 * 3600_000).default(3600_000) })
    .strict(),
  'group:stuck-inspect': z
    .object({ connectionId, group: groupName, topic: topicName, brokerName, queueId: z.number().int().min(0).max(1023) })
    .strict(),
  'group:skip-message': z
    .object({
      connectionId,
      group: groupName,
      topic: topicName,
      brokerName,
      queueId: z.number().int().min(0).max(1023),
      /** The consumer offset the page showed; refused when it has moved since. */
      expectedOffset: offset,
      confirm,
    })
    .strict(),
  'group:offset-restore': z.object({ connectionId, snapshotId: id, confirm }).strict(),

  'migration:diagnose': z.object({ connectionId, group: groupName, topic: topicName }).strict(),
  'migration:add-queues': z
    .object({
      connectionId,
      topic: topicName,
      queuesPerBroker: z.number().int().min(1).max(1024),
      /** The page makes the user type the topic name. */
      confirmName: z.string().max(255),
    })
    .strict(),
  'migration:start': z
    .object({
      connectionId,
      /** Room for the "-mig-xxxxxx" suffix of the temporary group and topic. */
      group: groupName.max(110),
      topic: topicName.max(110),
      tempQueuesPerBroker: z.number().int().min(1).max(256).default(16),
      ratePerSecond: z.number().int().min(1).max(MAX_RESEND_RATE).default(5000),
      autoRestore: z.boolean().default(false),
      /** Start even though consumers of the group are online (they would consume the backlog too). */
      force: z.boolean().default(false),
      requestId,
    })
    .strict(),
  'migration:list': z.object({}).strict(),
  'migration:get': z.object({ jobId: id }).strict(),
  'migration:control': z.object({ jobId: id, action: z.enum(['pause', 'resume', 'cancel', 'restore', 'retry']) }).strict(),

  'overview:badges': z.object({ connectionId }).strict(),
} as const;

export type OpsSchemas = typeof opsSchemas;
