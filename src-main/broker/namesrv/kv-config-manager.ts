/**
 * NameServer KV config: namespace → key → value. RocketMQ: namesrv/kvconfig/KVConfigManager.java.
 *
 * Persisted, when a file path is given, as Java's kvConfig.json: `{"configTable":{"<ns>":{"<k>":"<v>"}}}`.
 * Each change rewrites the whole file crash-safely: write a temp file beside it, fsync, rename over the
 * old one, fsync the directory. Writes run one at a time in call order, so the file always ends with
 * the latest table. A file that cannot be parsed at load is moved aside (`.corrupt-<time>`) and the
 * table starts empty, so a bad file neither stops the NameServer nor gets silently overwritten.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../remoting/logger.js';
import { createLogger } from '../../remoting/logger.js';

export const KV_CONFIG_FILE_NAME = 'kvConfig.json';

export interface KvConfigManagerOptions {
  /** Where to persist; in memory only when absent. */
  filePath?: string;
  logger?: Logger;
}

export class KvConfigManager {
  private readonly configTable = new Map<string, Map<string, string>>();
  private readonly filePath: string | undefined;
  private readonly logger: Logger;
  private writeChain: Promise<void> = Promise.resolve();

  constructor(options: KvConfigManagerOptions = {}) {
    this.filePath = options.filePath;
    this.logger = options.logger ?? createLogger('namesrv-kv');
  }

  /** Loads the persisted table (no file: empty table). */
  async load(): Promise<void> {
    if (!this.filePath) return;
    let text: string;
    try {
      text = await fs.readFile(this.filePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let table: Map<string, Map<string, string>>;
    try {
      table = parseKvFile(text);
    } catch (err) {
      const aside = `${this.filePath}.corrupt-${Date.now()}`;
      this.logger.error(`KV config file ${this.filePath} is unreadable (${(err as Error).message}); moved to ${aside}`);
      await fs.rename(this.filePath, aside);
      return;
    }
    this.configTable.clear();
    for (const [ns, kv] of table) this.configTable.set(ns, kv);
  }

  /** Sets a value; resolves once persisted. */
  async put(namespace: string, key: string, value: string): Promise<void> {
    let kv = this.configTable.get(namespace);
    if (!kv) {
      kv = new Map();
      this.configTable.set(namespace, kv);
    }
    const prev = kv.get(key);
    kv.set(key, value);
    this.logger.info(`KV config ${prev === undefined ? 'created' : 'updated'}: ${namespace} ${key} = ${value}`);
    await this.persist();
  }

  get(namespace: string, key: string): string | undefined {
    return this.configTable.get(namespace)?.get(key);
  }

  /** Removes a value; resolves with whether it existed, once persisted. */
  async delete(namespace: string, key: string): Promise<boolean> {
    const kv = this.configTable.get(namespace);
    if (!kv || !kv.delete(key)) return false;
    if (kv.size === 0) this.configTable.delete(namespace);
    this.logger.info(`KV config deleted: ${namespace} ${key}`);
    await this.persist();
    return true;
  }

  /** A copy of one namespace's table, or undefined when it has no entries. */
  getKVListByNamespace(namespace: string): Record<string, string> | undefined {
    const kv = this.configTable.get(namespace);
    if (!kv || kv.size === 0) return undefined;
    return Object.fromEntries(kv);
  }

  namespaces(): string[] {
    return [...this.configTable.keys()];
  }

  /** Waits for queued writes. */
  async flush(): Promise<void> {
    await this.writeChain.catch(() => undefined);
  }

  private persist(): Promise<void> {
    const filePath = this.filePath;
    if (!filePath) return Promise.resolve();
    // Each write snapshots the table when it runs, so the last one in the chain writes the latest state.
    const run = this.writeChain.catch(() => undefined).then(() => writeFileAtomic(filePath, this.serialize()));
    this.writeChain = run;
    return run;
  }

  private serialize(): string {
    const configTable: Record<string, Record<string, string>> = {};
    for (const [ns, kv] of this.configTable) configTable[ns] = Object.fromEntries(kv);
    return `${JSON.stringify({ configTable }, null, 2)}\n`;
  }
}

function parseKvFile(text: string): Map<string, Map<string, string>> {
  const parsed: unknown = JSON.parse(text);
  if (!isPlainObject(parsed)) throw new Error('not a JSON object');
  const out = new Map<string, Map<string, string>>();
  const table = parsed.configTable;
  if (table === undefined || table === null) return out;
  if (!isPlainObject(table)) throw new Error('configTable is not an object');
  for (const [ns, kv] of Object.entries(table)) {
    if (!isPlainObject(kv)) throw new Error(`namespace ${ns} is not an object`);
    const m = new Map<string, string>();
    for (const [k, v] of Object.entries(kv)) {
      if (typeof v !== 'string') throw new Error(`value of ${ns}/${k} is not a string`);
      m.set(k, v);
    }
    if (m.size > 0) out.set(ns, m);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** temp file + fsync + rename + directory fsync. */
async function writeFileAtomic(filePath: string, content: string): Promise<void> {
  const dir = path.dirname(filePath);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(filePath)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const handle = await fs.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, filePath);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Windows cannot open or fsync a directory; the rename is as durable as the platform allows.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES' && code !== 'EINVAL') throw err;
  } finally {
    await handle?.close();
  }
}
