// The local audit log of every write this console made (audit:list), newest first.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { adminApi } from '../api/admin';
import type { AuditEntry } from '../../../src-main/console/contract/ops-dto';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export const useAuditStore = defineStore('audit', () => {
  const entries = ref<AuditEntry[]>([]);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** Only this connection's entries; null: all. */
  const connectionFilter = ref<string | null>(null);

  async function refresh(limit = 200): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    loading.value = true;
    try {
      entries.value = await adminApi.audit({ limit, ...(connectionFilter.value ? { connectionId: connectionFilter.value } : {}) });
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  return { entries, loading, error, connectionFilter, refresh };
});
