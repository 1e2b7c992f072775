// Playground: sends (with the last payload per topic remembered) and live tails (newest first,
// capped, kept after stop).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { playgroundApi } from '../api/playground';
import type { MessageRow, SendResult } from '../../../src-main/console/contract/dto';
import type { RequestOf } from '../../../src-main/console/contract/contract';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export const PLAYGROUND_STORAGE_KEY = 'mqdesk-playground-v1';
export const TAIL_CAP = 500;

export interface Payload {
  tags: string;
  keys: string;
  body: string;
  properties: Array<{ name: string; value: string }>;
  delayLevel: number;
}

function loadPayloads(): Record<string, Payload> {
  try {
    const raw: unknown = JSON.parse(window.localStorage.getItem(PLAYGROUND_STORAGE_KEY) ?? '{}');
    return typeof raw === 'object' && raw !== null ? (raw as Record<string, Payload>) : {};
  } catch {
    return {};
  }
}

export const usePlaygroundStore = defineStore('playground', () => {
  const lastPayloads = ref<Record<string, Payload>>(loadPayloads());
  const sending = ref(false);
  const lastResult = ref<SendResult | null>(null);
  const sendError = ref<string | null>(null);

  const tailId = ref<string | null>(null);
  const tailTopic = ref<string | null>(null);
  const tailMessages = ref<MessageRow[]>([]);
  const tailError = ref<string | null>(null);
  const tailStarting = ref(false);
  let unsubscribe: (() => void) | null = null;

  async function send(topic: string, payload: Payload): Promise<void> {
    sending.value = true;
    sendError.value = null;
    const req: RequestOf<'playground:send'> = {
      connectionId: useConnectionStore().currentId,
      topic,
      tags: payload.tags.trim(),
      keys: payload.keys.split(/[\s,]+/).filter((k) => k.length > 0),
      body: payload.body,
      delayLevel: payload.delayLevel,
      properties: Object.fromEntries(payload.properties.filter((p) => p.name.trim()).map((p) => [p.name.trim(), p.value])),
    };
    try {
      lastResult.value = await playgroundApi.send(req);
      lastPayloads.value = { ...lastPayloads.value, [topic]: payload };
      try {
        window.localStorage.setItem(PLAYGROUND_STORAGE_KEY, JSON.stringify(lastPayloads.value));
      } catch {
        // too big or storage off: remembered for this session only
      }
    } catch (e) {
      lastResult.value = null;
      sendError.value = errorMessage(e);
    } finally {
      sending.value = false;
    }
  }

  /** `filter`: a tag expression (`*`, `a || b`) or `{ sql }`, a SQL92 selector on the message properties. */
  async function startTail(topic: string, filter: string | { sql: string }): Promise<void> {
    await stopTail();
    tailStarting.value = true;
    tailError.value = null;
    tailMessages.value = [];
    unsubscribe = playgroundApi.onTail((event) => {
      if (event.tailId !== tailId.value) return;
      tailError.value = event.error;
      if (event.messages.length === 0) return;
      const newestFirst = [...event.messages].reverse();
      tailMessages.value = [...newestFirst, ...tailMessages.value].slice(0, TAIL_CAP);
    });
    try {
      const r = await playgroundApi.tail(typeof filter === 'string'
        ? { connectionId: useConnectionStore().currentId, topic, tags: filter.trim() || '*' }
        : { connectionId: useConnectionStore().currentId, topic, filterType: 'SQL92', sql: filter.sql.trim() });
      tailId.value = r.tailId;
      tailTopic.value = topic;
    } catch (e) {
      tailError.value = errorMessage(e);
      unsubscribe?.();
      unsubscribe = null;
    } finally {
      tailStarting.value = false;
    }
  }

  async function stopTail(): Promise<void> {
    const id = tailId.value;
    tailId.value = null;
    unsubscribe?.();
    unsubscribe = null;
    if (id) await playgroundApi.stopTail(id).catch(() => undefined);
  }

  function clearTail(): void {
    tailMessages.value = [];
  }

  return {
    lastPayloads, sending, lastResult, sendError, tailId, tailTopic, tailMessages, tailError, tailStarting,
    send, startTail, stopTail, clearTail,
  };
});
