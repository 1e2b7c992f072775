/**
 * Per-cluster connections. Each has one MQAdmin (one ConsoleRemotingClient, so one TCP connection
 * per NameServer/broker address) created on first use. The embedded cluster is the connection
 * "embedded" while it runs; saved remote clusters come from the ConnectionStore. Every connection
 * has options (read-only, broker address rewrites) that its client reads at each request.
 */
import { MQAdmin } from '../remoting/admin/mq-admin.js';
import { createLogger } from '../remoting/logger.js';
import { ConsoleRemotingClient, type ClientPolicy } from './console-client.js';
import type { ConnectionOptions } from './contract/admin-dto.js';
import { ConsoleError } from './contract/errors.js';
import { EMBEDDED_CONNECTION_ID } from './contract/schemas.js';
import type { ConnectionInfo } from './contract/dto.js';
import type { ConnectionOptionsRecord, ConnectionRecord, ConnectionStore } from './connection-store.js';

export interface Connection {
  id: string;
  name: string;
  namesrvAddr: string;
  admin: MQAdmin;
  /** Read at the time of the call (the switch can change while the connection is open). */
  readonly readOnly: boolean;
}

const CONNECT_TIMEOUT_MS = 3000;
const CALL_TIMEOUT_MS = 5000;

const OPEN_POLICY: ClientPolicy = { readOnly: () => false, rewrites: () => [], connectionName: '' };

export function createAdmin(namesrvAddr: string, credentials?: { accessKey: string; secretKey: string } | null,
  policy: ClientPolicy = OPEN_POLICY): MQAdmin {
  const client = new ConsoleRemotingClient({
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    defaultTimeoutMs: CALL_TIMEOUT_MS,
    logger: createLogger('console'),
  }, policy);
  return new MQAdmin(namesrvAddr, client, credentials ? { credentials } : {});
}

export class ConnectionManager {
  private readonly open = new Map<string, Connection>();
  private embeddedAddr: string | null;

  constructor(readonly store: ConnectionStore, embeddedNamesrvAddr: string | null = null) {
    this.embeddedAddr = embeddedNamesrvAddr;
  }

  get embeddedNamesrvAddr(): string | null {
    return this.embeddedAddr;
  }

  /** The embedded cluster came up (or went away): its connection follows. */
  setEmbedded(namesrvAddr: string | null): void {
    if (namesrvAddr === this.embeddedAddr) return;
    this.drop(EMBEDDED_CONNECTION_ID);
    this.embeddedAddr = namesrvAddr;
  }

  get(id: string): Connection {
    const existing = this.open.get(id);
    if (existing) return existing;
    let name: string;
    let namesrvAddr: string;
    let credentials: { accessKey: string; secretKey: string } | null = null;
    if (id === EMBEDDED_CONNECTION_ID) {
      if (!this.embeddedAddr) throw new ConsoleError('NOT_FOUND', 'The embedded cluster is not running');
      name = 'Embedded cluster';
      namesrvAddr = this.embeddedAddr;
    } else {
      const record = this.store.get(id);
      if (!record) throw new ConsoleError('NOT_FOUND', `No saved connection with id "${id}"`);
      name = record.name;
      namesrvAddr = record.namesrvAddr;
      credentials = credentialsOf(record);
    }
    const store = this.store;
    const policy: ClientPolicy = {
      readOnly: () => store.optionsOf(id).readOnly,
      rewrites: () => store.optionsOf(id).addressRewrites,
      connectionName: name,
    };
    const connection: Connection = {
      id, name, namesrvAddr, admin: createAdmin(namesrvAddr, credentials, policy),
      get readOnly() {
        return store.optionsOf(id).readOnly;
      },
    };
    this.open.set(id, connection);
    return connection;
  }

  /** True when the connection exists and is read-only (a connection that does not exist is not). */
  isReadOnly(id: string): boolean {
    return this.store.optionsOf(id).readOnly;
  }

  /** Name of a connection for messages, or the id. */
  nameOf(id: string): string {
    if (id === EMBEDDED_CONNECTION_ID) return 'Embedded cluster';
    return this.store.get(id)?.name ?? id;
  }

  async saveOptions(id: string, input: { readOnly: boolean; addressRewrites: Array<{ from: string; to: string }> }): Promise<ConnectionOptions> {
    // The embedded connection's options can be set even while its cluster is down.
    if (id !== EMBEDDED_CONNECTION_ID && !this.store.get(id)) throw new ConsoleError('NOT_FOUND', `No saved connection with id "${id}"`);
    const before = this.store.optionsOf(id);
    const record = await this.store.saveOptions(id, input);
    // New rewrites: drop the open sockets so the next call connects to the new addresses.
    if (JSON.stringify(before.addressRewrites) !== JSON.stringify(record.addressRewrites)) this.drop(id);
    return { connectionId: id, readOnly: record.readOnly, addressRewrites: record.addressRewrites, updatedAt: record.updatedAt };
  }

  list(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    if (this.embeddedAddr) {
      const options = this.store.optionsOf(EMBEDDED_CONNECTION_ID);
      out.push({
        id: EMBEDDED_CONNECTION_ID, name: 'Embedded cluster', namesrvAddr: this.embeddedAddr, kind: 'embedded',
        accessKey: null, hasSecret: false, updatedAt: null, readOnly: options.readOnly, addressRewrites: [...options.addressRewrites],
      });
    }
    for (const r of this.store.list()) out.push(toInfo(r, this.store.optionsOf(r.id)));
    return out;
  }

  async save(input: {
    id?: string; name: string; namesrvAddr: string; accessKey?: string; secretKey?: string;
    readOnly?: boolean; addressRewrites?: Array<{ from: string; to: string }>;
  }): Promise<ConnectionInfo> {
    if (input.id === EMBEDDED_CONNECTION_ID) throw new ConsoleError('FORBIDDEN', 'The embedded connection cannot be edited');
    const previous = input.id ? this.store.get(input.id) : undefined;
    if (input.id && !previous) throw new ConsoleError('NOT_FOUND', `No saved connection with id "${input.id}"`);
    const accessKey = input.accessKey === undefined ? previous?.accessKey ?? null : input.accessKey || null;
    const secretKey = input.secretKey === undefined ? previous?.secretKey ?? null : input.secretKey || null;
    const record = await this.store.save({ id: input.id, name: input.name, namesrvAddr: normalizeAddr(input.namesrvAddr), accessKey, secretKey });
    if (input.readOnly !== undefined || input.addressRewrites !== undefined) {
      const options = this.store.optionsOf(record.id);
      await this.store.saveOptions(record.id, {
        readOnly: input.readOnly ?? options.readOnly, addressRewrites: input.addressRewrites ?? options.addressRewrites,
      });
    }
    this.drop(record.id);
    return toInfo(record, this.store.optionsOf(record.id));
  }

  async remove(id: string): Promise<void> {
    if (id === EMBEDDED_CONNECTION_ID) throw new ConsoleError('FORBIDDEN', 'The embedded connection cannot be removed');
    this.drop(id);
    if (!(await this.store.remove(id))) throw new ConsoleError('NOT_FOUND', `No saved connection with id "${id}"`);
  }

  record(id: string): ConnectionRecord | undefined {
    return this.store.get(id);
  }

  async close(): Promise<void> {
    for (const id of [...this.open.keys()]) this.drop(id);
    await this.store.close();
  }

  private drop(id: string): void {
    const c = this.open.get(id);
    this.open.delete(id);
    c?.admin.close();
  }
}

export function credentialsOf(r: { accessKey: string | null; secretKey: string | null }): { accessKey: string; secretKey: string } | null {
  return r.accessKey && r.secretKey ? { accessKey: r.accessKey, secretKey: r.secretKey } : null;
}

export function normalizeAddr(addr: string): string {
  return addr.split(';').map((s) => s.trim()).filter((s) => s.length > 0).join(';');
}

function toInfo(r: ConnectionRecord, options: Readonly<ConnectionOptionsRecord>): ConnectionInfo {
  return {
    id: r.id, name: r.name, namesrvAddr: r.namesrvAddr, kind: 'remote', accessKey: r.accessKey,
    hasSecret: r.secretKey !== null && r.secretKey.length > 0, updatedAt: r.updatedAt,
    readOnly: options.readOnly, addressRewrites: [...options.addressRewrites],
  };
}
