// Console administration (issue 4 item 6) and the embedded cluster's node controls (issue 3 item 8).
import type { RequestOf } from '../../../src-main/console/contract/contract';
import type { OpProgress } from '../../../src-main/console/contract/admin-dto';
import { call, subscribe } from './index';

export const adminApi = {
  saveOptions: (req: RequestOf<'connection:options-save'>) => call('connection:options-save', req),
  snapshots: (req: RequestOf<'group:offset-snapshots'>) => call('group:offset-snapshots', req),
  restoreSnapshot: (connectionId: string, snapshotId: string) => call('group:offset-restore', { connectionId, snapshotId, confirm: true }),
  audit: (req: RequestOf<'audit:list'>) => call('audit:list', req),
  embeddedSettings: () => call('settings:embedded-get', {}),
  saveEmbeddedSettings: (req: RequestOf<'settings:embedded-save'>) => call('settings:embedded-save', req),
  nodes: (connectionId: string) => call('cluster:nodes', { connectionId }),
  stopNode: (connectionId: string, node: string) => call('node:stop', { connectionId, node, confirm: true }),
  killNode: (connectionId: string, node: string) => call('node:kill', { connectionId, node, confirm: true }),
  restartNode: (connectionId: string, node: string) => call('node:restart', { connectionId, node, confirm: true }),
  promote: (connectionId: string, brokerName: string, node?: string) => call('node:promote', { connectionId, brokerName, node, confirm: true }),
};

let opCounter = 0;

/** A fresh id for a long call the page may cancel. */
export function newOpId(): string {
  opCounter = (opCounter + 1) % 1_000_000;
  return `op${Date.now().toString(36)}${opCounter.toString(36)}`;
}

/**
 * Runs a long call with an opId: `onProgress` gets its `op:progress` events, `cancel()` asks the
 * host to stop it (the call then resolves with what it found, marked cancelled).
 */
export function trackOperation<T>(start: (opId: string) => Promise<T>, onProgress: (p: OpProgress) => void): { opId: string; result: Promise<T>; cancel(): Promise<void> } {
  const opId = newOpId();
  const unsubscribe = subscribe('op:progress', (p) => {
    if (p.opId === opId) onProgress(p);
  });
  const result = start(opId).finally(unsubscribe);
  return {
    opId,
    result,
    cancel: async () => {
      await call('op:cancel', { opId }).catch(() => undefined);
    },
  };
}
