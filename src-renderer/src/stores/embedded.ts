// The embedded cluster of this MQDesk: its nodes, NameServers and events (Overview), node controls
// with the page's confirmation, and its saved settings (Settings page).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { adminApi } from '../api/admin';
import type { EmbeddedClusterNodes, EmbeddedSettingsValue, EmbeddedSettingsView } from '../../../src-main/console/contract/admin-dto';
import { errorMessage } from '../utils/format';
import { useConnectionStore } from './connection';

export type NodeAction = 'stop' | 'kill' | 'restart' | 'promote';

export const useEmbeddedStore = defineStore('embedded', () => {
  const nodes = ref<EmbeddedClusterNodes | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** The node an action is running on ("broker-a-0"), for the row's spinner. */
  const busyNode = ref<string | null>(null);
  const settings = ref<EmbeddedSettingsView | null>(null);
  const settingsError = ref<string | null>(null);

  async function refresh(): Promise<void> {
    const connection = useConnectionStore();
    if (connection.status !== 'connected') return;
    if (connection.currentId !== 'embedded') {
      nodes.value = null;
      return;
    }
    loading.value = true;
    try {
      nodes.value = await adminApi.nodes(connection.currentId);
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  /** Runs one node action (the page has confirmed it); refreshes the list after. Throws on refusal. */
  async function act(action: NodeAction, node: string, brokerName: string): Promise<void> {
    const id = useConnectionStore().currentId;
    busyNode.value = node;
    try {
      if (action === 'stop') await adminApi.stopNode(id, node);
      else if (action === 'kill') await adminApi.killNode(id, node);
      else if (action === 'restart') await adminApi.restartNode(id, node);
      else await adminApi.promote(id, brokerName, node);
    } finally {
      busyNode.value = null;
      await refresh();
    }
  }

  async function loadSettings(): Promise<void> {
    if (useConnectionStore().status !== 'connected') return;
    try {
      settings.value = await adminApi.embeddedSettings();
      settingsError.value = null;
    } catch (e) {
      settingsError.value = errorMessage(e);
    }
  }

  async function saveSettings(value: EmbeddedSettingsValue): Promise<void> {
    settings.value = await adminApi.saveEmbeddedSettings({ settings: value });
  }

  return { nodes, loading, error, busyNode, settings, settingsError, refresh, act, loadSettings, saveSettings };
});
