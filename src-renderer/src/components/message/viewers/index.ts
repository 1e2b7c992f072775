// Body viewers, one per data shape, picked at run time (AnotherRedisDesktopManager's FormatViewer).
import type { Component } from 'vue';
import BodyText from './BodyText.vue';
import BodyJson from './BodyJson.vue';
import BodyHex from './BodyHex.vue';

export type ViewerKind = 'text' | 'json' | 'hex';

export const VIEWERS: Record<ViewerKind, Component> = { text: BodyText, json: BodyJson, hex: BodyHex };

/** Above this, the text and JSON viewers show the first part only; hex shows the first 64 KiB. */
export const MAX_RENDER_BYTES = 1024 * 1024;
export const MAX_HEX_BYTES = 64 * 1024;

/** JSON if it parses, else text if it decodes as UTF-8, else hex. */
export function guessViewer(bytes: Uint8Array): ViewerKind {
  const text = decodeUtf8(bytes);
  if (text === null) return 'hex';
  const trimmed = text.trim();
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && bytes.length <= MAX_RENDER_BYTES) {
    try {
      JSON.parse(trimmed);
      return 'json';
    } catch {
      return 'text';
    }
  }
  return 'text';
}

export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}
