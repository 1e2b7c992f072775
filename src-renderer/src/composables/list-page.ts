// Pieces shared by the list pages with a detail drawer and a typed-name delete (topics, groups).
import { ref, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { errorMessage } from '../utils/format';

/**
 * Opens an entry named in the query (/page?param=NAME, as the command palette links it), then
 * clears the query.
 */
export function useOpenFromQuery(param: string, open: (name: string) => void): void {
  const route = useRoute();
  const router = useRouter();
  watch(
    () => route.query[param],
    (name) => {
      if (typeof name !== 'string' || !name) return;
      open(name);
      void router.replace({ path: route.path, query: {} });
    },
    { immediate: true },
  );
}

/** The state of a DangerConfirm delete: the row asked about, busy while removing, the last error. */
export function useDangerDelete<T extends { name: string }>(remove: (name: string, typed: string) => Promise<void>) {
  const deleting = ref<T | null>(null);
  const deleteBusy = ref(false);
  const deleteError = ref<string | null>(null);

  function askDelete(row: T): void {
    deleteError.value = null;
    deleting.value = row;
  }

  async function confirmDelete(typed: string): Promise<void> {
    if (!deleting.value) return;
    deleteBusy.value = true;
    try {
      await remove(deleting.value.name, typed);
      deleting.value = null;
    } catch (e) {
      deleteError.value = errorMessage(e);
    } finally {
      deleteBusy.value = false;
    }
  }

  return { deleting, deleteBusy, deleteError, askDelete, confirmDelete };
}
