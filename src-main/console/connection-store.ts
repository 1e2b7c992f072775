/**
 * Saved remote clusters, in NeDB (`connections.db` in the app's data directory), and the options
 * of every connection, the embedded one included (`connection-options.db`: read-only switch,
 * broker address rewrites). Small documents mirrored in memory; the files are compacted on close
 * so they are whole after a clean stop.
 * The secret key is stored as given: the data directory is the user's own (a keychain-backed
 * store, Electron safeStorage, is the desktop's next step).
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Datastore from 'nedb-promises';

export interface ConnectionRecord {
  id: string;
  name: string;
  namesrvAddr: string;
  accessKey: string | null;
  secretKey: string | null;
  createdAt: number;
  updatedAt: number;
}

interface Doc extends ConnectionRecord {
  _id: string;
}

export interface ConnectionOptionsRecord {
  readOnly: boolean;
  addressRewrites: Array<{ from: string; to: string }>;
  updatedAt: number;
}

interface OptionsDoc extends ConnectionOptionsRecord {
  _id: string;
}

const NO_OPTIONS: Readonly<ConnectionOptionsRecord> = Object.freeze({ readOnly: false, addressRewrites: [], updatedAt: 0 });

export class ConnectionStore {
  private readonly db: Datastore<Doc>;
  private readonly optionsDb: Datastore<OptionsDoc>;
  private readonly rows = new Map<string, ConnectionRecord>();
  private readonly options = new Map<string, ConnectionOptionsRecord>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = Datastore.create({ filename: path.join(dir, 'connections.db'), corruptAlertThreshold: 0 }) as unknown as Datastore<Doc>;
    this.optionsDb = Datastore.create({ filename: path.join(dir, 'connection-options.db'), corruptAlertThreshold: 0 }) as unknown as Datastore<OptionsDoc>;
  }

  async load(): Promise<void> {
    await Promise.all([this.db.load(), this.optionsDb.load()]);
    this.rows.clear();
    for (const doc of await this.db.find({})) {
      const { _id, ...record } = doc;
      this.rows.set(_id, { ...record, id: _id });
    }
    this.options.clear();
    for (const doc of await this.optionsDb.find({})) {
      this.options.set(doc._id, {
        readOnly: doc.readOnly === true,
        addressRewrites: Array.isArray(doc.addressRewrites) ? doc.addressRewrites.filter((r) => typeof r?.from === 'string' && typeof r?.to === 'string') : [],
        updatedAt: typeof doc.updatedAt === 'number' ? doc.updatedAt : 0,
      });
    }
  }

  /** The options of a connection (defaults: writable, no rewrites). */
  optionsOf(id: string): Readonly<ConnectionOptionsRecord> {
    return this.options.get(id) ?? NO_OPTIONS;
  }

  async saveOptions(id: string, input: { readOnly: boolean; addressRewrites: Array<{ from: string; to: string }> }): Promise<ConnectionOptionsRecord> {
    const record: ConnectionOptionsRecord = {
      readOnly: input.readOnly, addressRewrites: input.addressRewrites.map((r) => ({ from: r.from, to: r.to })), updatedAt: Date.now(),
    };
    this.options.set(id, record);
    await this.enqueue(() => this.optionsDb.update({ _id: id }, { _id: id, ...record }, { upsert: true }));
    return record;
  }

  list(): ConnectionRecord[] {
    return [...this.rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(id: string): ConnectionRecord | undefined {
    return this.rows.get(id);
  }

  async save(input: Omit<ConnectionRecord, 'id' | 'createdAt' | 'updatedAt'> & { id?: string }): Promise<ConnectionRecord> {
    const now = Date.now();
    const previous = input.id ? this.rows.get(input.id) : undefined;
    const id = input.id ?? `c${randomBytes(6).toString('hex')}`;
    const record: ConnectionRecord = {
      id,
      name: input.name,
      namesrvAddr: input.namesrvAddr,
      accessKey: input.accessKey,
      secretKey: input.secretKey,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    this.rows.set(id, record);
    await this.enqueue(() => this.db.update({ _id: id }, { _id: id, ...record }, { upsert: true }));
    return record;
  }

  async remove(id: string): Promise<boolean> {
    if (!this.rows.delete(id)) return false;
    await this.enqueue(() => this.db.remove({ _id: id }, { multi: false }));
    if (this.options.delete(id)) await this.enqueue(() => this.optionsDb.remove({ _id: id }, { multi: false }));
    return true;
  }

  async close(): Promise<void> {
    await this.writes;
    for (const db of [this.db, this.optionsDb]) {
      const original = (db as unknown as { __original?: { compactDatafileAsync?(): Promise<void> } }).__original;
      await original?.compactDatafileAsync?.();
    }
  }

  private enqueue(write: () => Promise<unknown>): Promise<unknown> {
    const next = this.writes.then(write);
    this.writes = next.catch(() => undefined);
    return next;
  }
}
