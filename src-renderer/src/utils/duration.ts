// Durations for people: "45 s", "3 min", "2 h 5 min", "1 d 3 h". Units are translated by the caller's t().
export function formatDuration(ms: number | null | undefined, t: (key: string, params: Record<string, number>) => string): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return t('duration.s', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('duration.m', { n: m });
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? t('duration.h', { n: h }) : t('duration.hm', { h, m: m % 60 });
  return h % 24 === 0 ? t('duration.d', { n: Math.floor(h / 24) }) : t('duration.dh', { d: Math.floor(h / 24), h: h % 24 });
}

export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

export function clockSeconds(ms: number): string {
  const d = new Date(ms);
  return `${clock(ms)}:${String(d.getSeconds()).padStart(2, '0')}`;
}
