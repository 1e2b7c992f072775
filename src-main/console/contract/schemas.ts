/**
 * Request schemas, one per channel. Every object is `.strict()` (unknown fields are refused, not
 * ignored), every string has a length cap, every number a range. Pure: zod only, no Node APIs, so
 * the renderer can import the inferred types.
 */
import { z } from 'zod';

/** RocketMQ TopicValidator / group names: ^[%|a-zA-Z0-9_-]+$. Retry and DLQ topics reach 255. */
export const NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
export const MAX_TOPIC_LENGTH = 255;
export const MAX_GROUP_LENGTH = 255;
/** Epoch milliseconds up to year 9999. */
export const MAX_TIMESTAMP = 253_402_300_799_999;
/** Largest playground body accepted (characters of text or base64). */
export const MAX_SEND_BODY_CHARS = 4 * 1024 * 1024;
export const MAX_DELAY_LEVEL = 18;
export const EMBEDDED_CONNECTION_ID = 'embedded';

export const topicName = z
  .string()
  .min(1, 'a topic name is required')
  .max(MAX_TOPIC_LENGTH)
  .regex(NAME_PATTERN, 'only letters, digits, %, |, _ and - are allowed');
export const groupName = z
  .string()
  .min(1, 'a group name is required')
  .max(MAX_GROUP_LENGTH)
  .regex(NAME_PATTERN, 'only letters, digits, %, |, _ and - are allowed');
export const brokerName = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, 'not a broker name');
export const timestamp = z.number().int().min(0).max(MAX_TIMESTAMP);
export const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const search = z.string().max(255).default('');

export const connectionId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'not a connection id')
  .default(EMBEDDED_CONNECTION_ID);

/** `host:port` separated by `;` (RocketMQ's namesrvAddr form); hosts are names or IPv4/IPv6 literals. */
export const namesrvAddr = z
  .string()
  .min(3)
  .max(512)
  .refine(
    (value) =>
      value
        .split(';')
        .map((part) => part.trim())
        .filter((part) => part.length > 0)
        .every((part) => /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(part) && Number(part.slice(part.lastIndexOf(':') + 1)) <= 65535),
    'expected host:port, several separated by ;',
  );

/** A host name, an IPv4 literal or a bracketed IPv6 literal. */
const HOST = String.raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))`;
const HOST_OR_HOST_PORT = new RegExp(`^${HOST}(?::\\d{1,5})?$`);

const endpoint = z
  .string()
  .trim()
  .min(1)
  .max(261)
  .regex(HOST_OR_HOST_PORT, 'expected host or host:port')
  .refine((v) => {
    const m = /:(\d{1,5})$/.exec(v);
    return !m || (Number(m[1]) >= 1 && Number(m[1]) <= 65535);
  }, 'the port must be 1-65535');

/**
 * One broker address rewrite: brokers behind NAT or in containers advertise addresses the desktop
 * cannot reach. `from` is `host:port` (that address) or `host` (any port of it); `to` is `host:port`
 * or `host` (keeps the port). The first matching rule wins.
 */
export const addressRewrite = z.object({ from: endpoint, to: endpoint }).strict();
export const MAX_ADDRESS_REWRITES = 32;
export const addressRewrites = z.array(addressRewrite).max(MAX_ADDRESS_REWRITES, `at most ${MAX_ADDRESS_REWRITES} rules`);

/** Picked by the page per long call; `op:cancel` with the same id stops it. */
export const opId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'not an operation id');

/** Scans stop at whichever comes first and then say `partial: true`. */
export const budget = z
  .object({
    maxRows: z.number().int().min(1).max(10_000).default(1000),
    maxMs: z.number().int().min(100).max(60_000).default(5000),
  })
  .strict()
  .default({ maxRows: 1000, maxMs: 5000 });

export const empty = z.object({}).strict();
export const onConnection = z.object({ connectionId }).strict();

export const schemas = {
  'app:info': empty,

  'cluster:overview': onConnection,

  'topic:list': z.object({ connectionId, includeSystem: z.boolean().default(false), query: search }).strict(),
  'topic:detail': z.object({ connectionId, topic: topicName }).strict(),
  /** Creates, or updates when it exists (UPDATE_AND_CREATE_TOPIC on every master). */
  'topic:create': z
    .object({
      connectionId,
      topic: topicName.max(127),
      clusterName: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/).optional(),
      readQueueNums: z.number().int().min(1).max(1024).default(4),
      writeQueueNums: z.number().int().min(1).max(1024).default(4),
      /** PermName: 2 write-only, 4 read-only, 6 read+write. */
      perm: z.union([z.literal(2), z.literal(4), z.literal(6)]).default(6),
      order: z.boolean().default(false),
    })
    .strict(),
  /** `confirmName` must repeat the topic: the page makes the user type it. */
  'topic:delete': z.object({ connectionId, topic: topicName, confirmName: z.string().max(MAX_TOPIC_LENGTH) }).strict(),

  'group:list': z.object({ connectionId, includeSystem: z.boolean().default(false), query: search, budget, opId: opId.optional() }).strict(),
  'group:detail': z.object({ connectionId, group: groupName }).strict(),
  'group:reset-offset': z
    .object({
      connectionId,
      group: groupName,
      topic: topicName,
      target: z.enum(['earliest', 'latest', 'timestamp']),
      timestamp: timestamp.optional(),
      /** false: only move offsets backwards is not enforced; true (RocketMQ isForce) moves either way. */
      force: z.boolean().default(true),
      /** Returns the per-queue new offsets without applying them. */
      dryRun: z.boolean().default(false),
      opId: opId.optional(),
    })
    .strict()
    .refine((r) => r.target !== 'timestamp' || r.timestamp !== undefined, {
      message: 'a timestamp is required when target is "timestamp"',
      path: ['timestamp'],
    }),
  'group:create': z
    .object({
      connectionId,
      group: groupName.max(120),
      consumeEnable: z.boolean().default(true),
      consumeBroadcastEnable: z.boolean().default(true),
      consumeMessageOrderly: z.boolean().default(false),
      retryMaxTimes: z.number().int().min(0).max(1000).default(16),
    })
    .strict(),
  'group:delete': z.object({ connectionId, group: groupName, confirmName: z.string().max(MAX_GROUP_LENGTH) }).strict(),

  'message:browse': z
    .object({
      connectionId,
      topic: topicName,
      brokerName,
      queueId: z.number().int().min(0).max(1023),
      fromOffset: offset,
      count: z.number().int().min(1).max(2000).default(100),
      budget,
      opId: opId.optional(),
    })
    .strict(),
  /** An offset message id (store host + commitlog offset) or a client unique key (UNIQ_KEY). */
  'message:by-id': z
    .object({
      connectionId,
      topic: topicName.optional(),
      msgId: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'not a message id'),
    })
    .strict(),
  'message:by-key': z
    .object({
      connectionId,
      topic: topicName,
      key: z.string().min(1).max(255).regex(/^\S+$/, 'a key has no spaces'),
      beginTime: timestamp.default(0),
      endTime: timestamp.optional(),
      maxNum: z.number().int().min(1).max(64).default(32),
    })
    .strict(),
  'message:by-time': z
    .object({ connectionId, topic: topicName, beginTime: timestamp, endTime: timestamp, budget, opId: opId.optional() })
    .strict()
    .refine((r) => r.endTime >= r.beginTime, { message: 'endTime must not be before beginTime', path: ['endTime'] }),

  'playground:send': z
    .object({
      connectionId,
      topic: topicName.max(127),
      tags: z.string().max(128).regex(/^[^|\s]*$/, 'a tag has no spaces or |').default(''),
      keys: z.array(z.string().min(1).max(128).regex(/^\S+$/, 'a key has no spaces')).max(16).default([]),
      properties: z
        .record(
          z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'property names are letters, digits, _ . -'),
          z.string().max(1024).regex(/^[^\u0001\u0002]*$/, 'control characters 0x01/0x02 are not allowed'),
        )
        .refine((p) => Object.keys(p).length <= 32, 'at most 32 properties')
        .default({}),
      body: z.string().max(MAX_SEND_BODY_CHARS),
      bodyEncoding: z.enum(['utf8', 'base64']).default('utf8'),
      delayLevel: z.number().int().min(0).max(MAX_DELAY_LEVEL).default(0),
    })
    .strict(),
  /** Starts a live tail; messages arrive as `playground:tail` events carrying the tailId. */
  'playground:tail': z
    .object({
      connectionId,
      topic: topicName,
      /** Tag expression: `*` or `a || b`. */
      tags: z.string().min(1).max(255).default('*'),
      /** TAG: `tags` filters. SQL92: `sql` filters on the message properties (evaluated by the console, so any cluster works). */
      filterType: z.enum(['TAG', 'SQL92']).default('TAG'),
      sql: z.string().trim().min(1).max(1024).optional(),
    })
    .strict()
    .refine((r) => r.filterType !== 'SQL92' || r.sql !== undefined, { message: 'a SQL92 expression is required', path: ['sql'] }),
  'playground:tail-stop': z.object({ tailId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/) }).strict(),

  'connection:list': empty,
  'connection:save': z
    .object({
      /** Absent: a new connection. */
      id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/).optional(),
      name: z.string().trim().min(1).max(64),
      namesrvAddr,
      accessKey: z.string().max(256).optional(),
      /** Absent on edit: keep the stored secret. Empty string: remove it. */
      secretKey: z.string().max(256).optional(),
      /** Absent: keep (new connections: off / none). */
      readOnly: z.boolean().optional(),
      addressRewrites: addressRewrites.optional(),
    })
    .strict(),
  'connection:remove': z.object({ id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/) }).strict(),
  /** Either a saved connection's id or an address to try before saving. */
  'connection:test': z
    .object({
      id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/).optional(),
      namesrvAddr: namesrvAddr.optional(),
      accessKey: z.string().max(256).optional(),
      secretKey: z.string().max(256).optional(),
    })
    .strict()
    .refine((r) => (r.id === undefined) !== (r.namesrvAddr === undefined), {
      message: 'give either id or namesrvAddr',
      path: ['id'],
    }),
} as const;

export type Schemas = typeof schemas;
