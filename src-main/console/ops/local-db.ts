/**
 * The console's own state in NeDB (DESIGN "Storage": the desktop app's state is NeDB too), one file
 * per kind under `<console data dir>/ops/`: resends made from the console, the audit log, lag
 * samples, offset snapshots, jobs and migration jobs. Metadata only, never message bodies. Writes
 * are queued one at a time per file; the file is compacted on close so it is whole after a clean stop.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import Datastore from 'nedb-promises';

type Doc<T> = T & { _id: string };

export class LocalTable<T extends { id: string }> {
  private readonly db: Datastore<Doc<T>>;
  private writes: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(dir: string, readonly name: string) {
    mkdirSync(dir, { recursive: true });
    this.db = Datastore.create({ filename: path.join(dir, `${name}.db`), corruptAlertThreshold: 0 }) as unknown as Datastore<Doc<T>>;
  }

  async load(indexes: string[] = []): Promise<void> {
    await this.db.load();
    for (const fieldName of indexes) await this.db.ensureIndex({ fieldName });
  }

  /** Inserts or replaces by id. */
  put(record: T): Promise<void> {
    return this.enqueue(() => this.db.update({ _id: record.id } as never, { ...record, _id: record.id } as never, { upsert: true }));
  }

  putMany(records: T[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.enqueue(() => this.db.insert(records.map((r) => ({ ...r, _id: r.id })) as never));
  }

  async get(id: string): Promise<T | null> {
    await this.writes;
    const doc = await this.db.findOne({ _id: id } as never);
    return doc ? strip(doc) : null;
  }

  /** Matching records, sorted, at most `limit`. */
  async find(query: Record<string, unknown>, sort: Record<string, 1 | -1> = {}, limit = 0): Promise<T[]> {
    await this.writes;
    let cursor = this.db.find(query as never).sort(sort);
    if (limit > 0) cursor = cursor.limit(limit);
    return (await cursor).map(strip);
  }

  async count(query: Record<string, unknown> = {}): Promise<number> {
    await this.writes;
    return this.db.count(query as never);
  }

  remove(query: Record<string, unknown>): Promise<void> {
    return this.enqueue(() => this.db.remove(query as never, { multi: true }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writes;
    const original = (this.db as unknown as { __original?: { compactDatafileAsync?(): Promise<void> } }).__original;
    await original?.compactDatafileAsync?.().catch(() => undefined);
  }

  private enqueue(write: () => Promise<unknown>): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.name} is closed`));
    const next = this.writes.then(write);
    this.writes = next.catch(() => undefined);
    return next.then(() => undefined);
  }
}

function strip<T>(doc: Doc<T>): T {
  const { _id, ...rest } = doc as Record<string, unknown>;
  void _id;
  return rest as T;
}
