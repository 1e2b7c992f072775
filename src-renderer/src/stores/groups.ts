// Consumer groups of the current connection.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { groupsApi } from '../api/groups';
import { adminApi } from '../api/admin';
import type { OffsetSnapshot } from '../../../src-main/console/contract/ops-dto';
import type { GroupDetail, GroupSummary, ResetOffsetResult } from '../../../src-main/console/contract/dto';
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export const useGroupsStore = defineStore('groups', () => {
  const groups = ref<GroupSummary[]>([]);
  const partial = ref(false);
  const includeSystem = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const detail = ref<GroupDetail | null>(null);
  const detailLoading = ref(false);
  const detailError = ref<string | null>(null);

  async function refresh(): Promise<void> {
    const connection = useConnectionStore();
    if (connection.status !== 'connected') return;
    loading.value = true;
    try {
      const r = await groupsApi.list(connection.currentId, includeSystem.value);
      groups.value = r.groups;
      partial.value = r.partial;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  async function loadDetail(group: string): Promise<void> {
    detailLoading.value = true;
    detailError.value = null;
    try {
      detail.value = await groupsApi.detail(useConnectionStore().currentId, group);
    } catch (e) {
      detail.value = null;
      detailError.value = errorMessage(e);
    } finally {
      detailLoading.value = false;
    }
  }

  function resetOffset(req: Omit<RequestOf<'group:reset-offset'>, 'connectionId'>): Promise<ResetOffsetResult> {
    return groupsApi.resetOffset({ ...req, connectionId: useConnectionStore().currentId });
  }

  /** Offset snapshots taken before resets and skips of a group, newest first. */
  const snapshots = ref<OffsetSnapshot[]>([]);

  async function loadSnapshots(group: string): Promise<void> {
    try {
      snapshots.value = (await adminApi.snapshots({ connectionId: useConnectionStore().currentId, group })).snapshots;
    } catch {
      snapshots.value = [];
    }
  }

  async function restoreSnapshot(snapshotId: string): Promise<void> {
    await adminApi.restoreSnapshot(useConnectionStore().currentId, snapshotId);
  }

  async function create(req: Omit<RequestOf<'group:create'>, 'connectionId'>): Promise<void> {
    await groupsApi.create({ ...req, connectionId: useConnectionStore().currentId });
    await refresh();
  }

  async function remove(group: string, confirmName: string): Promise<void> {
    await groupsApi.remove(useConnectionStore().currentId, group, confirmName);
    await refresh();
  }

  return {
    groups, partial, includeSystem, loading, error, detail, detailLoading, detailError, snapshots,
    refresh, loadDetail, resetOffset, create, remove, loadSnapshots, restoreSnapshot,
  };
});
