// Topics of the current connection: the list, one detail at a time, and the writes.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { topicsApi } from '../api/topics';
import type { TopicDetail, TopicSummary } from '../../../src-main/console/contract/dto';
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export const useTopicsStore = defineStore('topics', () => {
  const topics = ref<TopicSummary[]>([]);
  const total = ref(0);
  const partial = ref(false);
  const includeSystem = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const detail = ref<TopicDetail | null>(null);
  const detailLoading = ref(false);
  const detailError = ref<string | null>(null);

  async function refresh(): Promise<void> {
    const connection = useConnectionStore();
    if (connection.status !== 'connected') return;
    loading.value = true;
    try {
      const r = await topicsApi.list(connection.currentId, includeSystem.value);
      topics.value = r.topics;
      total.value = r.total;
      partial.value = r.partial;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  async function loadDetail(topic: string): Promise<void> {
    detailLoading.value = true;
    detailError.value = null;
    try {
      detail.value = await topicsApi.detail(useConnectionStore().currentId, topic);
    } catch (e) {
      detail.value = null;
      detailError.value = errorMessage(e);
    } finally {
      detailLoading.value = false;
    }
  }

  async function save(req: Omit<RequestOf<'topic:create'>, 'connectionId'>): Promise<void> {
    await topicsApi.create({ ...req, connectionId: useConnectionStore().currentId });
    await refresh();
  }

  async function remove(topic: string, confirmName: string): Promise<void> {
    await topicsApi.remove(useConnectionStore().currentId, topic, confirmName);
    await refresh();
  }

  return { topics, total, partial, includeSystem, loading, error, detail, detailLoading, detailError, refresh, loadDetail, save, remove };
});
