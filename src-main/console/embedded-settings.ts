/**
 * The embedded cluster's settings (ports, data directory, flush and replication mode, topology,
 * start on launch): one NeDB document in the console's data directory (`embedded-settings.db`).
 * Saved from the settings page, read by the host before it starts the cluster, so they apply the
 * next time MQDesk starts. A document that fails the schema (hand-edited, older version) is
 * ignored field by field: each bad field falls back to its default.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import Datastore from 'nedb-promises';
import type { ClusterOptions } from '../broker/cluster/cluster.js';
import { embeddedSettings } from './contract/admin-schemas.js';
import type { EmbeddedSettingsValue } from './contract/admin-dto.js';

const DOC_ID = 'embedded';

/** The cluster's own defaults (broker/cluster/cluster.ts startCluster). */
export const EMBEDDED_DEFAULTS: Readonly<EmbeddedSettingsValue> = Object.freeze({
  startOnLaunch: true,
  namesrvPort: 9876,
  namesrvCount: 1,
  brokerBasePort: 10911,
  brokerGroups: ['broker-a', 'broker-b'],
  slavesPerGroup: 1,
  flushMode: 'ASYNC',
  replicationMode: 'ASYNC',
  dataDir: '',
});

interface Doc extends EmbeddedSettingsValue {
  _id: string;
  savedAt: number;
}

/** Keeps each field that passes the schema on its own, the default for the others. */
export function sanitizeSettings(raw: unknown): EmbeddedSettingsValue {
  const merged: EmbeddedSettingsValue = { ...EMBEDDED_DEFAULTS, brokerGroups: [...EMBEDDED_DEFAULTS.brokerGroups] };
  if (typeof raw !== 'object' || raw === null) return merged;
  const whole = embeddedSettings.safeParse(pick(raw as Record<string, unknown>));
  if (whole.success) return whole.data;
  for (const key of Object.keys(EMBEDDED_DEFAULTS) as Array<keyof EmbeddedSettingsValue>) {
    const candidate = { ...merged, [key]: (raw as Record<string, unknown>)[key] };
    if (embeddedSettings.safeParse(candidate).success) Object.assign(merged, { [key]: candidate[key] });
  }
  return merged;
}

function pick(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(EMBEDDED_DEFAULTS)) out[key] = raw[key];
  return out;
}

export class EmbeddedSettingsStore {
  private readonly db: Datastore<Doc>;
  private current: EmbeddedSettingsValue = sanitizeSettings(null);
  private saved: number | null = null;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = Datastore.create({ filename: path.join(dir, 'embedded-settings.db'), corruptAlertThreshold: 0 }) as unknown as Datastore<Doc>;
  }

  /** Opens and reads the file; a missing file means the defaults. */
  static async open(dir: string): Promise<EmbeddedSettingsStore> {
    const store = new EmbeddedSettingsStore(dir);
    await store.db.load();
    const doc = await store.db.findOne({ _id: DOC_ID });
    if (doc) {
      store.current = sanitizeSettings(doc);
      store.saved = typeof doc.savedAt === 'number' ? doc.savedAt : null;
    }
    return store;
  }

  get(): EmbeddedSettingsValue {
    return { ...this.current, brokerGroups: [...this.current.brokerGroups] };
  }

  get savedAt(): number | null {
    return this.saved;
  }

  async save(settings: EmbeddedSettingsValue): Promise<void> {
    const savedAt = Date.now();
    await this.db.update({ _id: DOC_ID }, { _id: DOC_ID, ...settings, savedAt }, { upsert: true });
    this.current = { ...settings, brokerGroups: [...settings.brokerGroups] };
    this.saved = savedAt;
  }

  async close(): Promise<void> {
    const original = (this.db as unknown as { __original?: { compactDatafileAsync?(): Promise<void> } }).__original;
    await original?.compactDatafileAsync?.().catch(() => undefined);
  }
}

/** The cluster options for these settings; `defaultDataDir` when the setting is ''. */
export function toClusterOptions(s: EmbeddedSettingsValue, defaultDataDir: string): ClusterOptions {
  return {
    dataDir: s.dataDir || defaultDataDir,
    namesrvPort: s.namesrvPort,
    namesrvCount: s.namesrvCount,
    brokerBasePort: s.brokerBasePort,
    brokerGroups: [...s.brokerGroups],
    slavesPerGroup: s.slavesPerGroup,
    flushMode: s.flushMode,
    replicationMode: s.replicationMode,
  };
}

/** Settings equal for a restart's purpose (what the running cluster uses vs what is saved), except `ignore`. */
export function sameSettings(a: EmbeddedSettingsValue, b: EmbeddedSettingsValue, ignore: ReadonlyArray<keyof EmbeddedSettingsValue> = []): boolean {
  const skip = new Set<string>(['startOnLaunch', ...ignore]);
  return (Object.keys(EMBEDDED_DEFAULTS) as Array<keyof EmbeddedSettingsValue>)
    .every((k) => skip.has(k) || JSON.stringify(a[k]) === JSON.stringify(b[k]));
}
