// Transport status, what the host says about itself (app:info), the cluster connections and the
// one the pages work on (remembered under a versioned key).
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { appApi } from '../api/app';
import { connectionsApi } from '../api/connections';
import { adminApi } from '../api/admin';
import { transportInfo } from '../api';
import type { AppInfo, TransportKind, TransportStatus } from '../transport/transport';
import type { ConnectionInfo } from '../../../src-main/console/contract/dto';
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { errorMessage } from '../utils/format';

export const CONNECTION_STORAGE_KEY = 'mqdesk-connection-v1';
const EMBEDDED = 'embedded';

function loadSelected(): string {
  try {
    const v = window.localStorage.getItem(CONNECTION_STORAGE_KEY);
    return v && /^[A-Za-z0-9_-]{1,64}$/.test(v) ? v : EMBEDDED;
  } catch {
    return EMBEDDED;
  }
}

export const useConnectionStore = defineStore('connection', () => {
  const kind = ref<TransportKind>(transportInfo.kind());
  const status = ref<TransportStatus>('connecting');
  const info = ref<AppInfo | null>(null);
  const lastError = ref<string | null>(null);
  const loading = ref(false);
  const connections = ref<ConnectionInfo[]>([]);
  const currentId = ref<string>(loadSelected());
  const current = computed(() => connections.value.find((c) => c.id === currentId.value) ?? null);
  /** Bumped when the pages should reload (connection switched, reconnected). */
  const epoch = ref(0);

  async function refreshInfo(): Promise<void> {
    if (status.value !== 'connected') return;
    loading.value = true;
    try {
      info.value = await appApi.info();
      await loadConnections();
      lastError.value = null;
    } catch (error) {
      lastError.value = errorMessage(error);
    } finally {
      loading.value = false;
    }
  }

  async function loadConnections(): Promise<void> {
    connections.value = await connectionsApi.list();
    if (!connections.value.some((c) => c.id === currentId.value) && connections.value.length > 0) {
      currentId.value = connections.value[0]!.id;
    }
  }

  function select(id: string): void {
    currentId.value = id;
  }

  async function save(req: RequestOf<'connection:save'>): Promise<ConnectionInfo> {
    const saved = await connectionsApi.save(req);
    await loadConnections();
    return saved;
  }

  async function remove(id: string): Promise<void> {
    await connectionsApi.remove(id);
    await loadConnections();
  }

  const test = (req: RequestOf<'connection:test'>) => connectionsApi.test(req);

  /** The read-only switch and broker address rewrites of a connection (the embedded one too). */
  async function saveOptions(req: RequestOf<'connection:options-save'>): Promise<void> {
    await adminApi.saveOptions(req);
    await loadConnections();
  }

  /** The connection the pages work on refuses writes: write buttons are disabled and say why. */
  const readOnly = computed(() => current.value?.readOnly === true);

  watch(currentId, (id) => {
    try {
      window.localStorage.setItem(CONNECTION_STORAGE_KEY, id);
    } catch {
      // storage disabled: the choice holds for this session
    }
    epoch.value++;
  });

  transportInfo.onStatus((next) => {
    status.value = next;
    if (next === 'connected') {
      epoch.value++;
      void refreshInfo();
    }
  });

  return {
    kind, status, info, lastError, loading, connections, currentId, current, epoch, readOnly,
    refreshInfo, loadConnections, select, save, remove, test, saveOptions,
  };
});
