// Topics of the current connection: the list, one detail at a time, and the writes.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { topicsApi } from '../api/topics';
import type { TopicSummary } from '../../../src-main/console/contract/dto';
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { useConnectionStore } from './connection';
import { useConnectedList } from './connected-list';

export const useTopicsStore = defineStore('topics', () => {
  const topics = ref<TopicSummary[]>([]);
  const total = ref(0);
  const list = useConnectedList({
    list: topicsApi.list,
    apply: (r) => {
      topics.value = r.topics;
      total.value = r.total;
    },
    detail: topicsApi.detail,
  });
  const { partial, includeSystem, loading, error, detail, detailLoading, detailError, refresh, loadDetail } = list;

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
