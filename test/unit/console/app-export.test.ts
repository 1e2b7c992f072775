/** The desktop export path (app/export.ts) with `electron` replaced: the dialog chooses, the renderer never does. */
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const calls: unknown[][] = [];
let answer: { canceled: boolean; filePath?: string } = { canceled: false, filePath: '/home/u/Downloads/chosen.csv' };
vi.mock('electron', () => ({
  app: { getPath: (name: string) => (name === 'downloads' ? '/home/u/Downloads' : '/tmp') },
  dialog: { showSaveDialog: async (...args: unknown[]) => { calls.push(args); return answer; } },
}));

const { createSaveDialogPicker } = await import('../../../src-main/app/export.js');

describe('createSaveDialogPicker', () => {
  it('opens the save dialog in Downloads with a sanitized name and the format filter; returns its path', async () => {
    const window = { id: 1 };
    const pick = createSaveDialogPicker(() => window as never);
    expect(await pick('dlq-%DLQ%G/../x.csv', 'csv')).toBe('/home/u/Downloads/chosen.csv');
    const [parent, options] = calls[0] as [unknown, { defaultPath: string; filters: Array<{ extensions: string[] }> }];
    expect(parent).toBe(window);
    expect(options.defaultPath).toBe(path.join('/home/u/Downloads', 'dlq-_DLQ_G_.._x.csv'));
    expect(options.filters[0]!.extensions).toEqual(['csv']);
  });

  it('a cancelled dialog is null (nothing is written)', async () => {
    answer = { canceled: true };
    const pick = createSaveDialogPicker(() => null);
    expect(await pick('x.jsonl', 'jsonl')).toBeNull();
    expect((calls[1] as unknown[]).length).toBe(1); // no parent window: the options only
  });
});
