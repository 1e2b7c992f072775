// Messages page: the current result list (browse page or query), and the message in the drawer.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { messagesApi } from '../api/messages';
import { trackOperation } from '../api/admin';
import type { OpProgress } from '../../../src-main/console/contract/admin-dto';
import { topicsApi } from '../api/topics';
import type { MessageDetail, MessageRow, TopicQueue } from '../../../src-main/console/contract/dto';
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

type WithoutConnection<T> = Omit<T, 'connectionId'>;

export const useMessagesStore = defineStore('messages', () => {
  const rows = ref<MessageRow[]>([]);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const partial = ref(false);
  const stoppedBy = ref<'rows' | 'time' | 'cancelled' | null>(null);
  /** The running long query (by time): its progress, and how to cancel it. */
  const progress = ref<OpProgress | null>(null);
  let cancelRunning: (() => Promise<void>) | null = null;
  /** Browse state: where the next page starts and the queue's range. */
  const nextOffset = ref<number | null>(null);
  const minOffset = ref<number | null>(null);
  const maxOffset = ref<number | null>(null);
  const searched = ref(false);
  const detail = ref<MessageDetail | null>(null);
  const detailLoading = ref(false);
  const detailError = ref<string | null>(null);
  /** Queues of the topic picked for browsing. */
  const queues = ref<TopicQueue[]>([]);
  const queuesError = ref<string | null>(null);

  async function loadQueues(topic: string): Promise<void> {
    queuesError.value = null;
    try {
      queues.value = (await topicsApi.detail(useConnectionStore().currentId, topic)).queues;
    } catch (e) {
      queues.value = [];
      queuesError.value = errorMessage(e);
    }
  }

  async function run(fn: () => Promise<void>): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      await fn();
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
      searched.value = true;
    }
  }

  const conn = (): string => useConnectionStore().currentId;

  function browse(req: WithoutConnection<RequestOf<'message:browse'>>, append: boolean): Promise<void> {
    return run(async () => {
      const r = await messagesApi.browse({ ...req, connectionId: conn() });
      rows.value = append ? [...rows.value, ...r.messages] : r.messages;
      nextOffset.value = r.nextOffset;
      minOffset.value = r.minOffset;
      maxOffset.value = r.maxOffset;
      partial.value = r.partial;
      stoppedBy.value = r.stoppedBy;
    });
  }

  function byId(req: WithoutConnection<RequestOf<'message:by-id'>>): Promise<void> {
    return run(async () => {
      nextOffset.value = null;
      try {
        const r = await messagesApi.byId({ ...req, connectionId: conn() });
        rows.value = r.messages;
        partial.value = false;
        stoppedBy.value = null;
        if (r.messages.length === 1) {
          detail.value = r.messages[0]!;
          detailError.value = null;
        }
      } catch (e) {
        rows.value = [];
        throw e;
      }
    });
  }

  function byKey(req: WithoutConnection<RequestOf<'message:by-key'>>): Promise<void> {
    return run(async () => {
      nextOffset.value = null;
      rows.value = [];
      const r = await messagesApi.byKey({ ...req, connectionId: conn() });
      rows.value = r.messages;
      partial.value = r.partial;
      stoppedBy.value = r.stoppedBy;
    });
  }

  /** Scans every queue of the topic: reports progress per queue and can be cancelled (keeps what it found). */
  function byTime(req: WithoutConnection<RequestOf<'message:by-time'>>): Promise<void> {
    return run(async () => {
      nextOffset.value = null;
      rows.value = [];
      progress.value = { opId: '', done: 0, total: null, step: null };
      const op = trackOperation((opId) => messagesApi.byTime({ ...req, connectionId: conn(), opId }), (p) => (progress.value = p));
      cancelRunning = op.cancel;
      try {
        const r = await op.result;
        rows.value = r.messages;
        partial.value = r.partial;
        stoppedBy.value = r.stoppedBy;
      } finally {
        cancelRunning = null;
        progress.value = null;
      }
    });
  }

  async function cancel(): Promise<void> {
    await cancelRunning?.();
  }

  /** Opens the drawer on a row: the full message (body, properties) comes by its offset id. */
  async function open(row: MessageRow): Promise<void> {
    detail.value = null;
    detailError.value = null;
    detailLoading.value = true;
    try {
      const r = await messagesApi.byId({ connectionId: conn(), msgId: row.msgId });
      detail.value = r.messages[0] ?? null;
    } catch (e) {
      detailError.value = errorMessage(e);
    } finally {
      detailLoading.value = false;
    }
  }

  function close(): void {
    detail.value = null;
    detailError.value = null;
  }

  function clear(): void {
    rows.value = [];
    error.value = null;
    partial.value = false;
    stoppedBy.value = null;
    nextOffset.value = null;
    searched.value = false;
  }

  return {
    queues, queuesError, loadQueues, rows, loading, error, partial, stoppedBy, nextOffset, minOffset, maxOffset, searched, detail, detailLoading, detailError,
    progress, browse, byId, byKey, byTime, cancel, open, close, clear,
  };
});
