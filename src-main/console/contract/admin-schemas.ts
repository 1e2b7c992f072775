/**
 * Request schemas of the console's own administration channels (issue 4 item 6, issue 3 item 8):
 * connection options (read-only switch, broker address rewrites), offset snapshots, cancelling a
 * long operation, the embedded cluster's settings and its node fault controls. Same rules as
 * schemas.ts: strict objects, capped strings, ranged numbers. Pure: zod only.
 */
import { z } from 'zod';
import { addressRewrites, brokerName, connectionId, groupName, opId, topicName } from './schemas.js';

export { addressRewrite, addressRewrites, MAX_ADDRESS_REWRITES, opId } from './schemas.js';

/** A node of the embedded cluster by its stable name ("broker-a-1"). */
export const nodeName = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, 'not a node name');
const confirm = z.literal(true, { error: 'confirm must be true (the page asks first)' });

const port = z.number().int().min(0).max(65535);
/** An absolute path (POSIX or Windows), no `..` segment, no control characters; '' = the default. */
export const dataDirPath = z
  .string()
  .max(1024)
  .refine((v) => v === '' || /^(\/|[A-Za-z]:[\\/])/.test(v), 'the data directory must be an absolute path')
  .refine((v) => !/[\u0000-\u001f]/.test(v), 'the data directory has a control character')
  .refine((v) => !v.split(/[\\/]/).includes('..'), 'the data directory may not contain ".."');

export const MAX_BROKER_GROUPS = 8;
/** The embedded cluster's settings page; saved, applied the next time MQDesk starts the cluster. */
export const embeddedSettings = z
  .object({
    /** Desktop: start the embedded cluster when MQDesk starts. */
    startOnLaunch: z.boolean(),
    /** 0: every port of the cluster chosen free at start. */
    namesrvPort: port,
    namesrvCount: z.number().int().min(1).max(5),
    /** First broker port when ports are fixed (masters +10 per group, slaves +4, HA = port + 1). */
    brokerBasePort: z.number().int().min(1024).max(65000),
    brokerGroups: z
      .array(brokerName.max(64))
      .min(1)
      .max(MAX_BROKER_GROUPS)
      .refine((names) => new Set(names).size === names.length, 'broker group names must be unique'),
    slavesPerGroup: z.number().int().min(0).max(2),
    flushMode: z.enum(['ASYNC', 'SYNC']),
    replicationMode: z.enum(['ASYNC', 'SYNC']),
    dataDir: dataDirPath,
  })
  .strict()
  .refine((s) => s.namesrvPort === 0 || s.namesrvPort >= 1024, { message: 'use 0 (free ports) or a port from 1024', path: ['namesrvPort'] })
  .refine((s) => s.namesrvPort === 0 || s.namesrvPort < s.brokerBasePort || s.namesrvPort > s.brokerBasePort + 10 * s.brokerGroups.length + 10,
    { message: 'the NameServer port falls among the broker ports', path: ['namesrvPort'] })
  .refine((s) => s.brokerBasePort + 10 * s.brokerGroups.length + 10 <= 65535, { message: 'broker ports would pass 65535', path: ['brokerBasePort'] });

export const adminSchemas = {
  /** Options of any connection, the embedded one included. Not refused on a read-only connection (it is how to leave it). */
  'connection:options-save': z
    .object({ connectionId, readOnly: z.boolean(), addressRewrites: addressRewrites.default([]) })
    .strict(),
  /** Offset snapshots taken before resets and skips, newest first. */
  'group:offset-snapshots': z
    .object({ connectionId, group: groupName, topic: topicName.optional(), limit: z.number().int().min(1).max(100).default(20) })
    .strict(),
  'op:cancel': z.object({ opId }).strict(),

  'settings:embedded-get': z.object({}).strict(),
  'settings:embedded-save': z.object({ settings: embeddedSettings }).strict(),

  /** Nodes, NameServers and the event list of the embedded cluster. */
  'cluster:nodes': z.object({ connectionId }).strict(),
  'node:stop': z.object({ connectionId, node: nodeName, confirm }).strict(),
  /** In-process kill: nothing is flushed; the store recovers on restart as after a crash. */
  'node:kill': z.object({ connectionId, node: nodeName, confirm }).strict(),
  'node:restart': z.object({ connectionId, node: nodeName, confirm }).strict(),
  /** Promotes a running slave of the group (the one with the longest log, or `node`). */
  'node:promote': z.object({ connectionId, brokerName, node: nodeName.optional(), confirm }).strict(),
} as const;

export type AdminSchemas = typeof adminSchemas;
