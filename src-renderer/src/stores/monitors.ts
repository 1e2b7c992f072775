// The delay and transaction monitors and the overview badges: polled server state.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { delayApi, overviewApi, txApi } from '../api/ops';
import type {
  AuditEntry, DelayStats, DelayWaitingList, OverviewBadges, TxList, TxStats,
} from '../../../src-main/console/contract/ops-dto';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

const conn = (): string => useConnectionStore().currentId;

export const useDelayStore = defineStore('delay', () => {
  const stats = ref<DelayStats | null>(null);
  const waiting = ref<DelayWaitingList | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function refresh(search: string, level: number | null): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    loading.value = true;
    try {
      const [s, w] = await Promise.all([
        delayApi.stats(conn()),
        delayApi.list({ connectionId: conn(), search, level: level ?? undefined, limit: 500 }),
      ]);
      stats.value = s;
      waiting.value = w;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  return { stats, waiting, loading, error, refresh };
});

export const useTransactionsStore = defineStore('transactions', () => {
  const stats = ref<TxStats | null>(null);
  const list = ref<TxList | null>(null);
  const audit = ref<AuditEntry[]>([]);
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function refresh(search: string): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    loading.value = true;
    try {
      const [s, l, a] = await Promise.all([
        txApi.stats(conn()), txApi.list({ connectionId: conn(), search }), txApi.audit({ connectionId: conn(), limit: 50 }),
      ]);
      stats.value = s;
      list.value = l;
      audit.value = a;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  const resolve = (brokerName: string, msgId: string, action: 'commit' | 'rollback') =>
    txApi.resolve({ connectionId: conn(), brokerName, msgId, action, confirm: true });
  const recheck = (brokerName: string, msgId: string, again: boolean) =>
    txApi.recheck({ connectionId: conn(), brokerName, msgId, confirm: true, again });

  return { stats, list, audit, loading, error, refresh, resolve, recheck };
});

export const useBadgesStore = defineStore('badges', () => {
  const badges = ref<OverviewBadges | null>(null);
  const error = ref<string | null>(null);

  async function refresh(): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    try {
      badges.value = await overviewApi.badges(conn());
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  return { badges, error, refresh };
});
