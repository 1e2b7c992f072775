/**
 * Per-cluster connections. Each has one MQAdmin (one RemotingClient, so one TCP connection per
 * NameServer/broker address) created on first use. The embedded cluster is the connection
 * "embedded" while it runs; saved remote clusters come from the ConnectionStore.
 */
import { MQAdmin } from '../remoting/admin/mq-admin.js';
import { RemotingClient } from '../remoting/remoting-client.js';
import { createLogger } from '../remoting/logger.js';
import { ConsoleError } from './contract/errors.js';
import { EMBEDDED_CONNECTION_ID } from './contract/schemas.js';
import type { ConnectionInfo } from './contract/dto.js';
import type { ConnectionRecord, ConnectionStore } from './connection-store.js';

export interface Connection {
  id: string;
  name: string;
  namesrvAddr: string;
  admin: MQAdmin;
}

const CONNECT_TIMEOUT_MS = 3000;
const CALL_TIMEOUT_MS = 5000;

export function createAdmin(namesrvAddr: string, credentials?: { accessKey: string; secretKey: string } | null): MQAdmin {
  const client = new RemotingClient({
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    defaultTimeoutMs: CALL_TIMEOUT_MS,
    logger: createLogger('console'),
  });
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
    let connection: Connection;
    if (id === EMBEDDED_CONNECTION_ID) {
      if (!this.embeddedAddr) throw new ConsoleError('NOT_FOUND', 'The embedded cluster is not running');
      connection = { id, name: 'Embedded cluster', namesrvAddr: this.embeddedAddr, admin: createAdmin(this.embeddedAddr) };
    } else {
      const record = this.store.get(id);
      if (!record) throw new ConsoleError('NOT_FOUND', `No saved connection with id "${id}"`);
      connection = { id, name: record.name, namesrvAddr: record.namesrvAddr, admin: createAdmin(record.namesrvAddr, credentialsOf(record)) };
    }
    this.open.set(id, connection);
    return connection;
  }

  list(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    if (this.embeddedAddr) {
      out.push({
        id: EMBEDDED_CONNECTION_ID, name: 'Embedded cluster', namesrvAddr: this.embeddedAddr, kind: 'embedded',
        accessKey: null, hasSecret: false, updatedAt: null,
      });
    }
    for (const r of this.store.list()) out.push(toInfo(r));
    return out;
  }

  async save(input: { id?: string; name: string; namesrvAddr: string; accessKey?: string; secretKey?: string }): Promise<ConnectionInfo> {
    if (input.id === EMBEDDED_CONNECTION_ID) throw new ConsoleError('FORBIDDEN', 'The embedded connection cannot be edited');
    const previous = input.id ? this.store.get(input.id) : undefined;
    if (input.id && !previous) throw new ConsoleError('NOT_FOUND', `No saved connection with id "${input.id}"`);
    const accessKey = input.accessKey === undefined ? previous?.accessKey ?? null : input.accessKey || null;
    const secretKey = input.secretKey === undefined ? previous?.secretKey ?? null : input.secretKey || null;
    const record = await this.store.save({ id: input.id, name: input.name, namesrvAddr: normalizeAddr(input.namesrvAddr), accessKey, secretKey });
    this.drop(record.id);
    return toInfo(record);
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

function toInfo(r: ConnectionRecord): ConnectionInfo {
  return {
    id: r.id, name: r.name, namesrvAddr: r.namesrvAddr, kind: 'remote', accessKey: r.accessKey,
    hasSecret: r.secretKey !== null && r.secretKey.length > 0, updatedAt: r.updatedAt,
  };
}
