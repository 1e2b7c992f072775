// Transport status and what the host says about itself (app:info).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api } from '../api';
import type { AppInfo, TransportKind, TransportStatus } from '../transport/transport';

export const useConnectionStore = defineStore('connection', () => {
  const kind = ref<TransportKind>(api.connection.kind());
  const status = ref<TransportStatus>('connecting');
  const info = ref<AppInfo | null>(null);
  const lastError = ref<string | null>(null);
  const loading = ref(false);

  async function refreshInfo(): Promise<void> {
    if (status.value !== 'connected') return;
    loading.value = true;
    try {
      info.value = await api.app.info();
      lastError.value = null;
    } catch (error) {
      lastError.value = error instanceof Error ? error.message : String(error);
    } finally {
      loading.value = false;
    }
  }

  api.connection.onStatus((next) => {
    status.value = next;
    if (next === 'connected') void refreshInfo();
  });

  return { kind, status, info, lastError, loading, refreshInfo };
});
