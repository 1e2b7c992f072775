// Backlog page: a group's lag history and stuck queues, one stuck queue inspected, and the
// migration jobs (pushed as migration:progress events).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { backlogApi, migrationApi } from '../api/ops';
import { subscribe } from '../api';
import type { LagHistory, MigrationDiagnosis, MigrationJob, StuckInspect } from '../../../src-main/console/contract/ops-dto';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

const conn = (): string => useConnectionStore().currentId;

export const useBacklogStore = defineStore('backlog', () => {
  const history = ref<LagHistory | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const inspect = ref<StuckInspect | null>(null);
  const inspectError = ref<string | null>(null);

  async function loadHistory(group: string, windowMs: number): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    loading.value = true;
    try {
      history.value = await backlogApi.lagHistory({ connectionId: conn(), group, windowMs });
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  async function loadInspect(q: { group: string; topic: string; brokerName: string; queueId: number }): Promise<void> {
    inspectError.value = null;
    try {
      inspect.value = await backlogApi.inspect({ connectionId: conn(), ...q });
    } catch (e) {
      inspect.value = null;
      inspectError.value = errorMessage(e);
    }
  }

  const skip = (q: { group: string; topic: string; brokerName: string; queueId: number; expectedOffset: number }) =>
    backlogApi.skip({ connectionId: conn(), ...q, confirm: true });
  const restore = (snapshotId: string) => backlogApi.restore({ connectionId: conn(), snapshotId, confirm: true });

  return { history, loading, error, inspect, inspectError, loadHistory, loadInspect, skip, restore };
});

export const useMigrationStore = defineStore('migration', () => {
  const jobs = ref<MigrationJob[]>([]);
  const diagnosis = ref<MigrationDiagnosis | null>(null);
  const diagnosing = ref(false);
  const error = ref<string | null>(null);
  let unsubscribe: (() => void) | null = null;

  function listen(): void {
    if (unsubscribe) return;
    unsubscribe = subscribe('migration:progress', (job) => {
      const i = jobs.value.findIndex((j) => j.id === job.id);
      if (i >= 0) jobs.value.splice(i, 1, job);
      else jobs.value.unshift(job);
    });
  }

  async function load(): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    listen();
    try {
      jobs.value = await migrationApi.list();
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  async function diagnose(group: string, topic: string): Promise<void> {
    diagnosing.value = true;
    try {
      diagnosis.value = await migrationApi.diagnose({ connectionId: conn(), group, topic });
      error.value = null;
    } catch (e) {
      diagnosis.value = null;
      error.value = errorMessage(e);
    } finally {
      diagnosing.value = false;
    }
  }

  function upsert(job: MigrationJob): void {
    const i = jobs.value.findIndex((j) => j.id === job.id);
    if (i >= 0) jobs.value.splice(i, 1, job);
    else jobs.value.unshift(job);
  }

  async function start(req: { group: string; topic: string; tempQueuesPerBroker: number; ratePerSecond: number; autoRestore: boolean; force: boolean; requestId: string }): Promise<MigrationJob> {
    listen();
    const job = await migrationApi.start({ connectionId: conn(), ...req });
    upsert(job);
    return job;
  }

  async function control(jobId: string, action: 'pause' | 'resume' | 'cancel' | 'restore' | 'retry'): Promise<void> {
    upsert(await migrationApi.control({ jobId, action }));
  }

  const addQueues = (topic: string, queuesPerBroker: number, confirmName: string) =>
    migrationApi.addQueues({ connectionId: conn(), topic, queuesPerBroker, confirmName });

  return { jobs, diagnosis, diagnosing, error, load, diagnose, start, control, addQueues };
});
