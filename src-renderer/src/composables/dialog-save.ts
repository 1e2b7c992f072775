// The save step shared by the form dialogs: busy while saving, the error shown in the dialog,
// closed once saved.
import { ref } from 'vue';
import { errorMessage } from '../utils/format';

export function useDialogSave(close: () => void) {
  const saving = ref(false);
  const error = ref<string | null>(null);

  /** Runs the save; closes the dialog when it succeeds, shows its error when it fails. */
  async function runSave(action: () => Promise<unknown>): Promise<void> {
    saving.value = true;
    error.value = null;
    try {
      await action();
      close();
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      saving.value = false;
    }
  }

  return { saving, error, runSave };
}
