/**
 * `topic-tombstones.json`: topic → commitlog end offset when the topic was deleted. A deleted
 * topic's records stay in the commitlog; the tombstone keeps a rebuild (or a query by key) from
 * bringing them back. Later records of a re-created topic are past the offset and count again.
 *
 *   { "version": 1, "topics": { "<topic>": <commitlog offset> } }
 *
 * Replaced whole (temp + fsync + rename); an unreadable file is ignored with a warning.
 */
import { createLogger } from '../../remoting/logger.js';
import { replaceFileSync, type FileIO } from './io/file-io.js';

const log = createLogger('store');

export const TOMBSTONES_FILE = 'topic-tombstones.json';

export class TopicTombstones {
  private tombstones = new Map<string, number>();

  constructor(private readonly io: FileIO, private readonly filePath: string) {}

  load(): void {
    try {
      const parsed = JSON.parse(this.io.readFileSync(this.filePath).toString('utf8')) as { topics?: Record<string, number> };
      this.tombstones = new Map(Object.entries(parsed.topics ?? {}).filter(([, v]) => Number.isSafeInteger(v)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`ignoring unreadable ${TOMBSTONES_FILE}: ${(e as Error).message}`);
      this.tombstones = new Map();
    }
  }

  /** True for a record of `topic` stored before the topic was deleted. */
  covers(topic: string, physicalOffset: number): boolean {
    if (this.tombstones.size === 0) return false;
    const deletedAt = this.tombstones.get(topic);
    return deletedAt !== undefined && physicalOffset < deletedAt;
  }

  /** Records the deletion and persists it; a failed write is logged (it holds until the next open). */
  mark(topic: string, deletedAt: number): void {
    this.tombstones.set(topic, deletedAt);
    try {
      replaceFileSync(this.io, this.filePath, Buffer.from(JSON.stringify({ version: 1, topics: Object.fromEntries(this.tombstones) }), 'utf8'));
    } catch (e) {
      log.error(`could not persist the deletion of ${topic}: ${(e as Error).message}`);
    }
  }
}
