// The state shared by the list pages of the current connection (topics, consumer groups): a list
// that can include system entries, refreshed while connected, and one detail loaded at a time.
import { ref, type Ref } from 'vue';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export interface ConnectedListOptions<R extends { partial: boolean }, D> {
  /** Fetches the list of the connection. */
  list(connectionId: string, includeSystem: boolean): Promise<R>;
  /** Stores a fetched list in the owning store's own refs. */
  apply(result: R): void;
  /** Fetches the detail of one entry. */
  detail(connectionId: string, name: string): Promise<D>;
}

export interface ConnectedList<D> {
  partial: Ref<boolean>;
  includeSystem: Ref<boolean>;
  loading: Ref<boolean>;
  error: Ref<string | null>;
  detail: Ref<D | null>;
  detailLoading: Ref<boolean>;
  detailError: Ref<string | null>;
  refresh(): Promise<void>;
  loadDetail(name: string): Promise<void>;
}

/** For use inside a setup store: return the refs and functions from the store. */
export function useConnectedList<R extends { partial: boolean }, D>(options: ConnectedListOptions<R, D>): ConnectedList<D> {
  const partial = ref(false);
  const includeSystem = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const detail = ref<D | null>(null) as Ref<D | null>;
  const detailLoading = ref(false);
  const detailError = ref<string | null>(null);

  async function refresh(): Promise<void> {
    const connection = useConnectionStore();
    if (connection.status !== 'connected') return;
    loading.value = true;
    try {
      const r = await options.list(connection.currentId, includeSystem.value);
      options.apply(r);
      partial.value = r.partial;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  async function loadDetail(name: string): Promise<void> {
    detailLoading.value = true;
    detailError.value = null;
    try {
      detail.value = await options.detail(useConnectionStore().currentId, name);
    } catch (e) {
      detail.value = null;
      detailError.value = errorMessage(e);
    } finally {
      detailLoading.value = false;
    }
  }

  return { partial, includeSystem, loading, error, detail, detailLoading, detailError, refresh, loadDetail };
}
