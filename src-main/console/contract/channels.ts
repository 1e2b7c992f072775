/**
 * The channel allow-list, importable by the sandboxed preload: no zod, no Node built-ins, nothing
 * imported. contract.ts checks at compile time that this list and the schema table agree.
 */
export const CHANNELS = [
  'app:info',
  'cluster:overview',
  'topic:list',
  'topic:detail',
  'topic:create',
  'topic:delete',
  'group:list',
  'group:detail',
  'group:reset-offset',
  'group:create',
  'group:delete',
  'message:browse',
  'message:by-id',
  'message:by-key',
  'message:by-time',
  'playground:send',
  'playground:tail',
  'playground:tail-stop',
  'connection:list',
  'connection:save',
  'connection:remove',
  'connection:test',
  // Operator pages (issue 6)
  'trace:by-id',
  'trace:by-key',
  'dlq:groups',
  'dlq:list',
  'dlq:view',
  'dlq:resend-preview',
  'dlq:resend',
  'dlq:export',
  'job:list',
  'job:get',
  'job:cancel',
  'job:receipts',
  'job:receipts-export',
  'message:resend',
  'delay:stats',
  'delay:list',
  'tx:stats',
  'tx:list',
  'tx:resolve',
  'tx:recheck',
  'audit:list',
  'group:lag-history',
  'group:stuck-inspect',
  'group:skip-message',
  'group:offset-restore',
  'migration:diagnose',
  'migration:add-queues',
  'migration:start',
  'migration:list',
  'migration:get',
  'migration:control',
  'overview:badges',
  // Issue 4 item 6: connection options, reset snapshots, cancellable operations, embedded settings
  'connection:options-save',
  'group:offset-snapshots',
  'op:cancel',
  'settings:embedded-get',
  'settings:embedded-save',
  // Issue 3 item 8: fault controls of the embedded cluster (in-process lifecycle calls)
  'cluster:nodes',
  'node:stop',
  'node:kill',
  'node:restart',
  'node:promote',
] as const;
export type Channel = (typeof CHANNELS)[number];

/** Topics the host pushes to the page. */
export const EVENT_TOPICS = ['playground:tail', 'job:progress', 'migration:progress', 'op:progress'] as const;
export type EventTopic = (typeof EVENT_TOPICS)[number];

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

export function isEventTopic(value: unknown): value is EventTopic {
  return typeof value === 'string' && (EVENT_TOPICS as readonly string[]).includes(value);
}

/** Channels that change the cluster or saved state (a read-only connection refuses them). */
export const WRITE_CHANNELS: readonly Channel[] = [
  'topic:create',
  'topic:delete',
  'group:reset-offset',
  'group:create',
  'group:delete',
  'playground:send',
  'dlq:resend',
  'message:resend',
  'tx:resolve',
  'tx:recheck',
  'group:skip-message',
  'group:offset-restore',
  'migration:add-queues',
  'migration:start',
  'migration:control',
  'node:stop',
  'node:kill',
  'node:restart',
  'node:promote',
];
