// Trace page: the traced message(s) and how they were found.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { traceApi } from '../api/ops';
import type { TraceResult } from '../../../src-main/console/contract/ops-dto';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export const useTraceStore = defineStore('trace', () => {
  const result = ref<TraceResult | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function run(fn: () => Promise<TraceResult>): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      result.value = await fn();
    } catch (e) {
      result.value = null;
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  const conn = (): string => useConnectionStore().currentId;
  const byId = (msgId: string, topic?: string) => run(() => traceApi.byId({ connectionId: conn(), msgId, topic }));
  const byKey = (topic: string, key: string) => run(() => traceApi.byKey({ connectionId: conn(), topic, key }));
  function clear(): void {
    result.value = null;
    error.value = null;
  }

  return { result, loading, error, byId, byKey, clear };
});
