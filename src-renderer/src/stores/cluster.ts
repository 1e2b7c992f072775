// Overview data of the current connection.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { clusterApi } from '../api/cluster';
import type { ClusterOverview } from '../../../src-main/console/contract/dto';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export const useClusterStore = defineStore('cluster', () => {
  const overview = ref<ClusterOverview | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function refresh(): Promise<void> {
    const connection = useConnectionStore();
    if (connection.status !== 'connected') return;
    loading.value = true;
    try {
      overview.value = await clusterApi.overview(connection.currentId);
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  return { overview, loading, error, refresh };
});
