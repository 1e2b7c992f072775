// Typed calls of the operator pages (issue 6), one group per page. Stores call these.
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { call } from './index';

type Req<C extends Parameters<typeof call>[0]> = RequestOf<C>;

export const traceApi = {
  byId: (req: Req<'trace:by-id'>) => call('trace:by-id', req),
  byKey: (req: Req<'trace:by-key'>) => call('trace:by-key', req),
};

export const dlqApi = {
  groups: (connectionId: string) => call('dlq:groups', { connectionId }),
  list: (req: Req<'dlq:list'>) => call('dlq:list', req),
  view: (req: Req<'dlq:view'>) => call('dlq:view', req),
  preview: (req: Req<'dlq:resend-preview'>) => call('dlq:resend-preview', req),
  resend: (req: Req<'dlq:resend'>) => call('dlq:resend', req),
  export: (req: Req<'dlq:export'>) => call('dlq:export', req),
  resendOne: (req: Req<'message:resend'>) => call('message:resend', req),
};

export const jobsApi = {
  list: () => call('job:list', {}),
  get: (jobId: string) => call('job:get', { jobId }),
  cancel: (jobId: string) => call('job:cancel', { jobId }),
  receipts: (req: Req<'job:receipts'>) => call('job:receipts', req),
  exportReceipts: (req: Req<'job:receipts-export'>) => call('job:receipts-export', req),
};

export const delayApi = {
  stats: (connectionId: string) => call('delay:stats', { connectionId }),
  list: (req: Req<'delay:list'>) => call('delay:list', req),
};

export const txApi = {
  stats: (connectionId: string) => call('tx:stats', { connectionId }),
  list: (req: Req<'tx:list'>) => call('tx:list', req),
  resolve: (req: Req<'tx:resolve'>) => call('tx:resolve', req),
  recheck: (req: Req<'tx:recheck'>) => call('tx:recheck', req),
  audit: (req: Req<'audit:list'>) => call('audit:list', req),
};

export const backlogApi = {
  lagHistory: (req: Req<'group:lag-history'>) => call('group:lag-history', req),
  inspect: (req: Req<'group:stuck-inspect'>) => call('group:stuck-inspect', req),
  skip: (req: Req<'group:skip-message'>) => call('group:skip-message', req),
  restore: (req: Req<'group:offset-restore'>) => call('group:offset-restore', req),
};

export const migrationApi = {
  diagnose: (req: Req<'migration:diagnose'>) => call('migration:diagnose', req),
  addQueues: (req: Req<'migration:add-queues'>) => call('migration:add-queues', req),
  start: (req: Req<'migration:start'>) => call('migration:start', req),
  list: () => call('migration:list', {}),
  control: (req: Req<'migration:control'>) => call('migration:control', req),
};

export const overviewApi = {
  badges: (connectionId: string) => call('overview:badges', { connectionId }),
};

/** A fresh id for one dialog's request: a second click sends the same id and gets the same job. */
export function newRequestId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `r${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
