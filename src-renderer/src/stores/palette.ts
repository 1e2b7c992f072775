// The command palette's items: every page, and the topics and groups of the current connection
// (names only, loaded when the palette opens and kept until the connection changes).
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { call } from '../api';
import { errorMessage } from '../utils/format';
import { groupItem, topicItem, type PaletteItem } from '../utils/palette';
import { useConnectionStore } from './connection';

export const usePaletteStore = defineStore('palette', () => {
  const open = ref(false);
  const topics = ref<string[]>([]);
  const groups = ref<string[]>([]);
  const loading = ref(false);
  const error = ref<string | null>(null);
  let loadedFor: string | null = null;

  async function load(force = false): Promise<void> {
    const connection = useConnectionStore();
    if (connection.status !== 'connected') return;
    const key = `${connection.currentId}#${connection.epoch}`;
    if (!force && loadedFor === key) return;
    loading.value = true;
    error.value = null;
    try {
      const [t, g] = await Promise.all([
        call('topic:list', { connectionId: connection.currentId }),
        // Names only: a budget of one row skips the per-group lag the Groups page computes.
        call('group:list', { connectionId: connection.currentId, budget: { maxRows: 1, maxMs: 100 } }),
      ]);
      topics.value = t.topics.map((x) => x.name);
      groups.value = g.groups.map((x) => x.name);
      loadedFor = key;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  function items(pages: PaletteItem[]): PaletteItem[] {
    return [...pages, ...topics.value.map(topicItem), ...groups.value.map(groupItem)];
  }

  function show(): void {
    open.value = true;
  }

  watch(open, (v) => {
    if (v) void load();
  });

  return { open, topics, groups, loading, error, load, items, show };
});
