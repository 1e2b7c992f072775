// Ranking of the command palette (Ctrl/Cmd+K): pages, topics and groups matched by what was typed.
// Pure, so the store test and the component share it.

export type PaletteKind = 'page' | 'topic' | 'group';

export interface PaletteItem {
  kind: PaletteKind;
  /** What is matched and shown (page title in the current language, topic or group name). */
  label: string;
  /** Route path, with `query` for a topic or group to open. */
  path: string;
  query?: Record<string, string>;
}

/**
 * Score of `label` for `query` (higher is better), or null when it does not match: a prefix beats
 * a substring beats a word start beats letters in order (fuzzy). Case-insensitive.
 */
export function scoreMatch(label: string, query: string): number | null {
  const q = query.trim().toLowerCase();
  if (!q) return 0;
  const l = label.toLowerCase();
  if (l === q) return 1000;
  if (l.startsWith(q)) return 800 - Math.min(l.length, 200);
  const at = l.indexOf(q);
  if (at >= 0) {
    const wordStart = at === 0 || /[^a-z0-9]/.test(l[at - 1]!);
    return (wordStart ? 600 : 400) - Math.min(at, 100) - Math.min(l.length, 100) / 10;
  }
  // Letters in order ("ogr" finds "OrderGroup"), closer together is better.
  let pos = -1;
  let gaps = 0;
  for (const ch of q) {
    const next = l.indexOf(ch, pos + 1);
    if (next < 0) return null;
    if (pos >= 0) gaps += next - pos - 1;
    pos = next;
  }
  return 200 - Math.min(gaps, 150) - Math.min(l.length, 100) / 10;
}

const KIND_ORDER: Record<PaletteKind, number> = { page: 0, topic: 1, group: 2 };

/** The items matching `query`, best first (ties: pages, then topics, then groups; then by name), at most `limit`. */
export function rankItems(items: readonly PaletteItem[], query: string, limit = 50): PaletteItem[] {
  const scored: Array<{ item: PaletteItem; score: number }> = [];
  for (const item of items) {
    const score = scoreMatch(item.label, query);
    if (score !== null) scored.push({ item, score });
  }
  scored.sort((a, b) => b.score - a.score || KIND_ORDER[a.item.kind] - KIND_ORDER[b.item.kind] || a.item.label.localeCompare(b.item.label));
  return scored.slice(0, limit).map((s) => s.item);
}

export function topicItem(name: string): PaletteItem {
  return { kind: 'topic', label: name, path: '/topics', query: { topic: name } };
}

export function groupItem(name: string): PaletteItem {
  return { kind: 'group', label: name, path: '/consumer-groups', query: { group: name } };
}

/** Ctrl+K, or Cmd+K on macOS. */
export function isPaletteShortcut(event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): boolean {
  return (event.key === 'k' || event.key === 'K') && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey;
}
