// Remembers the main window's bounds in <userData>/window-state.json. No `electron` import: the
// caller passes the displays' work areas, so a window saved on a now-missing monitor reopens at
// the default size instead of off-screen.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  bounds: Partial<Rectangle> & { width: number; height: number };
  maximized: boolean;
}

export const DEFAULT_WINDOW_STATE: WindowState = { bounds: { width: 1280, height: 800 }, maximized: false };
export const MIN_WIDTH = 640;
export const MIN_HEIGHT = 480;

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 100_000;
}

function intersects(a: Rectangle, b: Rectangle): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Parses a saved state; anything malformed or off every display falls back to the default. */
export function parseWindowState(text: string, workAreas: readonly Rectangle[]): WindowState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return DEFAULT_WINDOW_STATE;
  }
  if (typeof raw !== 'object' || raw === null) return DEFAULT_WINDOW_STATE;
  const { x, y, width, height, maximized } = raw as Record<string, unknown>;
  if (!isInt(width) || !isInt(height) || width < MIN_WIDTH || height < MIN_HEIGHT) return DEFAULT_WINDOW_STATE;
  const state: WindowState = { bounds: { width, height }, maximized: maximized === true };
  if (isInt(x) && isInt(y) && workAreas.some((area) => intersects({ x, y, width, height }, area))) {
    state.bounds = { x, y, width, height };
  }
  return state;
}

export async function loadWindowState(file: string, workAreas: readonly Rectangle[]): Promise<WindowState> {
  try {
    return parseWindowState(await readFile(file, 'utf8'), workAreas);
  } catch {
    return DEFAULT_WINDOW_STATE;
  }
}

/**
 * Temp file + rename, so a crash mid-write leaves the old state, not half a JSON file. Synchronous
 * because it runs in the window's `close` handler, just before the process may exit.
 */
export function saveWindowState(file: string, bounds: Rectangle, maximized: boolean): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, JSON.stringify({ ...bounds, maximized }), 'utf8');
  renameSync(temp, file);
}
