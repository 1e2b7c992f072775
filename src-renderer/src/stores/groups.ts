// Consumer groups of the current connection.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { groupsApi } from '../api/groups';
import { adminApi } from '../api/admin';
import type { OffsetSnapshot } from '../../../src-main/console/contract/ops-dto';
import type { GroupSummary, ResetOffsetResult } from '../../../src-main/console/contract/dto';
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { useConnectionStore } from './connection';
import { useConnectedList } from './connected-list';

export const useGroupsStore = defineStore('groups', () => {
  const groups = ref<GroupSummary[]>([]);
  const list = useConnectedList({
    list: groupsApi.list,
    apply: (r) => { groups.value = r.groups; },
    detail: groupsApi.detail,
  });
  const { partial, includeSystem, loading, error, detail, detailLoading, detailError, refresh, loadDetail } = list;

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
