// Exports in the desktop app: the native save dialog chooses the file (reliability-security.md
// §8.4: the renderer asks for an export, never names a path). The default is the Downloads folder
// and a sanitized name; only the path the dialog returns is used. Writing (temp file, fsync,
// rename, CSV escaping) is the console's (src-main/console/ops/safe-file.ts, csv.ts).
import { app, dialog, type BrowserWindow, type SaveDialogOptions } from 'electron';
import { join } from 'node:path';
import { sanitizeFileName } from '../console/ops/safe-file.js';
import type { PickExportPath } from '../console/ops/ops-services.js';

export function createSaveDialogPicker(currentWindow: () => BrowserWindow | null): PickExportPath {
  return async (suggestedName, format) => {
    const options: SaveDialogOptions = {
      title: 'Export',
      defaultPath: join(app.getPath('downloads'), sanitizeFileName(suggestedName)),
      filters: [format === 'csv' ? { name: 'CSV', extensions: ['csv'] } : { name: 'JSON Lines', extensions: ['jsonl'] }],
      properties: ['createDirectory', 'showOverwriteConfirmation'],
    };
    const window = currentWindow();
    const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
    return result.canceled || !result.filePath ? null : result.filePath;
  };
}
