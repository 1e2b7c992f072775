// Dead letters: the groups that have a DLQ, the current group's list with its counts, one message.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { dlqApi } from '../api/ops';
import type { DlqGroupInfo, DlqListResult } from '../../../src-main/console/contract/ops-dto';
import type { MessageDetail } from '../../../src-main/console/contract/dto';
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export type DlqFilter = NonNullable<RequestOf<'dlq:list'>['filter']>;

export const useDlqStore = defineStore('dlq', () => {
  const groups = ref<DlqGroupInfo[]>([]);
  const groupsError = ref<string | null>(null);
  const list = ref<DlqListResult | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const detail = ref<MessageDetail | null>(null);
  const conn = (): string => useConnectionStore().currentId;

  async function loadGroups(): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    try {
      groups.value = await dlqApi.groups(conn());
      groupsError.value = null;
    } catch (e) {
      groupsError.value = errorMessage(e);
    }
  }

  async function load(group: string, filter: DlqFilter): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    loading.value = true;
    error.value = null;
    try {
      list.value = await dlqApi.list({ connectionId: conn(), group, filter, limit: 500 });
    } catch (e) {
      list.value = null;
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  async function view(group: string, msgId: string): Promise<void> {
    detail.value = await dlqApi.view({ connectionId: conn(), group, msgId });
  }

  return { groups, groupsError, list, loading, error, detail, loadGroups, load, view };
});
