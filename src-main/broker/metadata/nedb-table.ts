/**
 * A keyed table of small documents in one NeDB file, mirrored in memory.
 * NeDB appends a line per update and never fsyncs; we compact (rewrite + rename) at close so the
 * file on disk is whole after a clean stop. Message bodies never come here (DESIGN: storage).
 */
import Datastore from 'nedb-promises';

interface Row<T> {
  _id: string;
  value: T;
}

export class NedbTable<T> {
  private readonly db: Datastore<Row<T>>;
  private readonly rows = new Map<string, T>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(readonly filename: string) {
    // corruptAlertThreshold 0: refuse to load a file with a damaged line instead of dropping it silently.
    this.db = Datastore.create({ filename, corruptAlertThreshold: 0 }) as unknown as Datastore<Row<T>>;
  }

  async load(): Promise<Map<string, T>> {
    await this.db.load();
    const docs = await this.db.find({});
    this.rows.clear();
    for (const d of docs) this.rows.set(d._id, d.value);
    return this.rows;
  }

  get(key: string): T | undefined {
    return this.rows.get(key);
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  entries(): IterableIterator<[string, T]> {
    return this.rows.entries();
  }

  get size(): number {
    return this.rows.size;
  }

  /** Updates memory at once; the file write is queued in order. */
  put(key: string, value: T): Promise<unknown> {
    this.rows.set(key, value);
    this.writes = this.writes
      .then(() => this.db.update({ _id: key }, { _id: key, value }, { upsert: true }))
      .catch(() => undefined);
    return this.writes;
  }

  remove(key: string): Promise<unknown> {
    this.rows.delete(key);
    this.writes = this.writes.then(() => this.db.remove({ _id: key }, { multi: false })).catch(() => undefined);
    return this.writes;
  }

  /** Waits for queued writes, then rewrites the file in one-line-per-document form. */
  async close(): Promise<void> {
    await this.writes;
    const original = (this.db as unknown as { __original: { compactDatafileAsync(): Promise<void> } }).__original;
    await original.compactDatafileAsync();
  }
}
