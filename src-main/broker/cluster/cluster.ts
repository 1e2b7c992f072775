/**
 * The embedded cluster: NameServer(s) and broker groups (master + slaves) in one process, all on
 * loopback, each node's data under <dataDir>/<node>. With namesrvPort 0 every port is chosen free,
 * so two clusters can run side by side. Everything clients see goes through the protocol; the
 * lifecycle and fault controls here (stop, kill, restart, promote, pause replication, stop and
 * start a NameServer) are in-process, for the console and for tests.
 *
 * Nodes keep their name (= data directory, "broker-a-0", "broker-a-1") whatever role they take.
 * Each node's role and brokerId live in <node dir>/role.json, so a restarted cluster keeps a
 * promotion. A node restarted while its group has another running master comes back as a slave
 * (and cuts whatever tail it holds that the new master never had; see ha/ha-epochs.ts).
 *
 * Failover controller (RocketMQ 5 controller-style, in process): every `failoverCheckMs` (1 s) it
 * probes each group's master over TCP (GET_BROKER_CONFIG, any answer counts). A master
 * unreachable for `failoverTimeoutMs` (10 s; 0 = off) is replaced by the running slave with the
 * longest log: promoted to the group's master role (ASYNC_MASTER, or SYNC_MASTER with
 * replicationMode SYNC), registered as brokerId 0; the old master is recorded as a slave.
 */
import fs from 'node:fs';
import { lockDataDir } from './data-dir-lock.js';
import path from 'node:path';
import { NameServer } from '../namesrv/namesrv.js';
import { BrokerNode } from '../broker.js';
import { defaultBrokerConfig, type BrokerConfig, type BrokerRole, type FlushMode } from '../config/broker-config.js';
import { RemotingClient } from '../../remoting/remoting-client.js';
import { createRequest } from '../../remoting/remoting-command.js';
import { RequestCode } from '../../remoting/request-code.js';
import { createLogger } from '../../remoting/logger.js';
import { Perm } from '../metadata/system-names.js';
import type { BrokerHaStatus } from '../ha/broker-ha.js';

const log = createLogger('cluster');

export interface ClusterOptions {
  dataDir: string;
  /** Default 9876; 0 picks every port of the cluster free. */
  namesrvPort?: number;
  namesrvCount?: number;
  clusterName?: string;
  brokerGroups?: string[];
  slavesPerGroup?: number;
  /** First broker port when ports are fixed (masters 10911, 10921, …; slaves +4; HA port = port + 1). */
  brokerBasePort?: number;
  flushMode?: FlushMode;
  replicationMode?: 'ASYNC' | 'SYNC';
  host?: string;
  brokerOverrides?: Partial<BrokerConfig>;
  /** Automatic failover: promote a slave once its master has been unreachable this long; 0 = off. Default 10 s. */
  failoverTimeoutMs?: number;
  /** How often the failover controller probes masters (1 s). */
  failoverCheckMs?: number;
}

type ResolvedOptions = Required<Omit<ClusterOptions, 'brokerOverrides'>> & { brokerOverrides: Partial<BrokerConfig> };

export type NodeState = 'starting' | 'running' | 'stopping' | 'stopped' | 'killed';

export interface NodeInfo {
  /** Stable node name = its data directory ("broker-a-1"), whatever its current role. */
  name: string;
  brokerName: string;
  brokerId: number;
  role: string;
  address: string;
  state: string;
  /** Replication: HA address, log end, connected slaves (master) or link to the master (slave). */
  ha: BrokerHaStatus | null;
}

export interface NamesrvInfo {
  index: number;
  address: string;
  state: 'running' | 'stopped';
}

export interface ClusterEvent {
  at: number;
  kind: 'node-stopped' | 'node-killed' | 'node-started' | 'promoted' | 'failover' | 'namesrv-stopped' | 'namesrv-started'
    | 'replication-paused' | 'replication-resumed';
  node?: string;
  detail: string;
}

interface Slot {
  name: string;
  brokerName: string;
  dataDir: string;
  /** Port to bind (fixed, or the one first bound when ports are free, so addresses survive restarts). */
  port: number;
  haPort: number;
  role: BrokerRole;
  brokerId: number;
  node: BrokerNode;
  state: NodeState;
}

interface RoleFile {
  brokerRole: BrokerRole;
  brokerId: number;
}

const ROLE_FILE = 'role.json';

function readRoleFile(dir: string): RoleFile | null {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(dir, ROLE_FILE), 'utf8')) as Partial<RoleFile>;
    if ((v.brokerRole === 'ASYNC_MASTER' || v.brokerRole === 'SYNC_MASTER' || v.brokerRole === 'SLAVE') && Number.isInteger(v.brokerId)) {
      return { brokerRole: v.brokerRole, brokerId: v.brokerId as number };
    }
  } catch {
    // absent or unreadable: the layout decides
  }
  return null;
}

function writeRoleFile(dir: string, role: RoleFile): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, ROLE_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(role));
  fs.renameSync(`${file}.tmp`, file);
}

export class EmbeddedCluster {
  /** Called once the cluster has stopped (releases the data-directory lock). */
  afterStop: (() => void) | undefined;
  readonly namesrvs: NameServer[] = [];
  private readonly namesrvStates: Array<'running' | 'stopped'> = [];
  private readonly namesrvPorts: number[] = [];
  private readonly slots: Slot[] = [];
  readonly events: ClusterEvent[] = [];
  private readonly eventListeners: Array<(e: ClusterEvent) => void> = [];
  private readonly groupOps = new Map<string, Promise<unknown>>();
  private readonly lastMasterSeen = new Map<string, number>();
  private controllerTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private readonly probeClient = new RemotingClient({ connectTimeoutMs: 1000, logger: log });
  private stopped = false;

  constructor(readonly options: ResolvedOptions) {}

  /** NameServer addresses joined by ';' as RocketMQ clients take them. */
  get namesrvAddr(): string {
    return this.namesrvs.map((n) => n.address).join(';');
  }

  /** Current broker nodes (a restarted node is a new BrokerNode). */
  get brokers(): BrokerNode[] {
    return this.slots.map((s) => s.node);
  }

  nodes(): NodeInfo[] {
    return this.slots.map((s) => ({
      name: s.name,
      brokerName: s.brokerName,
      // A node that is down shows the role it comes back with.
      brokerId: s.state === 'running' ? s.node.config.brokerId : s.brokerId,
      role: s.state === 'running' ? s.node.config.brokerRole : s.role,
      address: s.state === 'running' ? s.node.address : '',
      state: s.state,
      ha: s.state === 'running' ? s.node.ha.status() : null,
    }));
  }

  namesrvNodes(): NamesrvInfo[] {
    return this.namesrvs.map((n, index) => ({ index, address: n.address, state: this.namesrvStates[index] ?? 'stopped' }));
  }

  /** The node of a group with that brokerId now (0 = its master), whatever its state. */
  broker(brokerName: string, brokerId = 0): BrokerNode | undefined {
    const matching = this.slots.filter((s) => s.brokerName === brokerName
      && (s.state === 'running' ? s.node.config.brokerId : s.brokerId) === brokerId);
    return (matching.find((s) => s.state === 'running') ?? matching[0])?.node;
  }

  /** A node by its stable name ("broker-a-1"). */
  node(name: string): BrokerNode | undefined {
    return this.slots.find((s) => s.name === name)?.node;
  }

  onEvent(listener: (e: ClusterEvent) => void): void {
    this.eventListeners.push(listener);
  }

  // -------------------------------------------------------------------------------------------
  // Fault controls

  /** Clean stop of one node (unregister, flush, checkpoint). */
  stopNode(name: string): Promise<void> {
    const slot = this.slot(name);
    return this.inGroup(slot.brokerName, async () => {
      if (slot.state !== 'running') return;
      slot.state = 'stopping';
      await slot.node.stop();
      slot.state = 'stopped';
      this.event('node-stopped', slot.name, `${slot.name} (${slot.node.config.brokerRole}) stopped cleanly`);
    });
  }

  /**
   * In-process kill: sockets close at once, nothing is flushed, checkpointed or unregistered
   * (the store recovers on restart as after a crash). For a real SIGKILL run the node as a child
   * process (test/harness/broker-process.ts).
   */
  killNode(name: string): Promise<void> {
    const slot = this.slot(name);
    return this.inGroup(slot.brokerName, () => {
      if (slot.state !== 'running') return;
      slot.node.kill();
      slot.state = 'killed';
      this.event('node-killed', slot.name, `${slot.name} (${slot.node.config.brokerRole}) killed`);
    });
  }

  /**
   * Starts a stopped or killed node again (stops a running one first) on its data directory and
   * ports. With another running master in its group it comes back as that master's slave.
   */
  restartNode(name: string): Promise<void> {
    const slot = this.slot(name);
    return this.inGroup(slot.brokerName, async () => {
      if (slot.state === 'running') {
        slot.state = 'stopping';
        await slot.node.stop();
        slot.state = 'stopped';
      }
      await this.startSlot(slot);
    });
  }

  /**
   * Manual promotion of a group's slave (the one with the longest log, or `nodeName`). If the
   * master is running this is a switchover: the master stops taking sends, the slave catches up
   * (up to 5 s), the master stops, the slave is promoted, the old master comes back as its slave.
   */
  promote(brokerName: string, nodeName?: string): Promise<NodeInfo> {
    return this.inGroup(brokerName, async () => {
      const group = this.slots.filter((s) => s.brokerName === brokerName);
      if (group.length === 0) throw new Error(`no broker group ${brokerName}`);
      const candidate = nodeName ? group.find((s) => s.name === nodeName) : this.bestSlave(brokerName);
      if (!candidate || candidate.state !== 'running' || candidate.node.config.brokerRole !== 'SLAVE') {
        throw new Error(`${nodeName ?? brokerName}: no running slave to promote`);
      }
      const master = group.find((s) => s.state === 'running' && s.node.config.brokerRole !== 'SLAVE');
      if (master) {
        master.node.config.brokerPermission &= ~Perm.WRITE;
        const target = master.node.store.getWrittenPhyOffset();
        const deadline = Date.now() + 5000;
        while (candidate.node.store.getMaxPhyOffset() < target && Date.now() < deadline) await sleep(20);
        await candidate.node.ha.syncMetadataNow();
        master.state = 'stopping';
        await master.node.stop();
        master.state = 'stopped';
      }
      await this.promoteSlot(candidate, master ?? group.find((s) => s !== candidate && s.role !== 'SLAVE'), 'promoted',
        master ? `switchover: ${candidate.name} promoted, ${master.name} steps down` : `${candidate.name} promoted`);
      if (master) await this.startSlot(master);
      return this.nodes().find((n) => n.name === candidate.name)!;
    });
  }

  /** Fault control: cut (or restore) a slave's replication link; it stays cut while paused. */
  setReplicationPaused(name: string, paused: boolean): void {
    const slot = this.slot(name);
    slot.node.ha.setReplicationPaused(paused);
    this.event(paused ? 'replication-paused' : 'replication-resumed', slot.name, `${slot.name} replication ${paused ? 'paused' : 'resumed'}`);
  }

  async stopNamesrv(index: number): Promise<void> {
    const ns = this.namesrvs[index];
    if (!ns) throw new Error(`no NameServer ${index}`);
    if (this.namesrvStates[index] !== 'running') return;
    await ns.stop();
    this.namesrvStates[index] = 'stopped';
    this.event('namesrv-stopped', undefined, `NameServer ${index} (${ns.address}) stopped`);
  }

  /** Starts a stopped NameServer again on its address; every broker re-registers at once. */
  async startNamesrv(index: number): Promise<void> {
    const old = this.namesrvs[index];
    if (!old) throw new Error(`no NameServer ${index}`);
    if (this.namesrvStates[index] === 'running') return;
    const ns = new NameServer({
      host: this.options.host, port: this.namesrvPorts[index] ?? old.port, dataDir: this.namesrvDataDir(index),
    });
    await ns.start();
    this.namesrvs[index] = ns;
    this.namesrvStates[index] = 'running';
    for (const s of this.slots) if (s.state === 'running') s.node.registerToNameServers();
    this.event('namesrv-started', undefined, `NameServer ${index} (${ns.address}) started`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.controllerTimer) clearInterval(this.controllerTimer);
    this.controllerTimer = null;
    await Promise.all([...this.groupOps.values()].map((p) => p.catch(() => undefined)));
    this.probeClient.close();
    // Brokers first so they can unregister (slaves before masters: no HA reconnect churn); then NameServers.
    await Promise.all(this.slots.filter((s) => s.node.config.brokerRole === 'SLAVE').map((s) => this.stopSlotQuietly(s)));
    await Promise.all(this.slots.map((s) => this.stopSlotQuietly(s)));
    await Promise.all(this.namesrvs.map((n, i) => (this.namesrvStates[i] === 'running' ? n.stop() : Promise.resolve())));
    this.namesrvStates.fill('stopped');
    this.afterStop?.();
    this.afterStop = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // internals

  /** @internal startCluster's start-up. */
  async init(): Promise<void> {
    const o = this.options;
    const freePorts = o.namesrvPort === 0;
    for (let i = 0; i < o.namesrvCount; i++) {
      const ns = new NameServer({ host: o.host, port: freePorts ? 0 : o.namesrvPort + i, dataDir: this.namesrvDataDir(i) });
      await ns.start();
      this.namesrvs.push(ns);
      this.namesrvStates.push('running');
      this.namesrvPorts.push(ns.port);
    }
    for (const [g, brokerName] of o.brokerGroups.entries()) {
      const group: Slot[] = [];
      for (let index = 0; index <= o.slavesPerGroup; index++) {
        const name = `${brokerName}-${index}`;
        const dataDir = path.join(o.dataDir, name);
        const saved = readRoleFile(dataDir);
        const role: BrokerRole = saved ? saved.brokerRole : index === 0 ? this.masterRole() : 'SLAVE';
        const port = freePorts ? 0 : o.brokerBasePort + g * 10 + index * 4;
        group.push({
          name, brokerName, dataDir, port, haPort: -1, role, brokerId: saved ? saved.brokerId : index,
          node: undefined as unknown as BrokerNode, state: 'stopped',
        });
      }
      // One master per group: the first that says so (a clean layout has exactly one).
      const master = group.find((s) => s.role !== 'SLAVE');
      for (const s of group) if (s !== master && s.role !== 'SLAVE') s.role = 'SLAVE';
      const usedIds = new Set<number>();
      for (const s of group) {
        if (s === master) s.brokerId = 0;
        else {
          if (s.brokerId < 1 || usedIds.has(s.brokerId)) s.brokerId = nextFreeId(usedIds);
          usedIds.add(s.brokerId);
        }
        if (master && s.role !== 'SLAVE') s.role = this.masterRole();
      }
      this.slots.push(...group);
      // Masters first, so slaves find them registered.
      for (const s of [...group].sort((a, b) => Number(a.role === 'SLAVE') - Number(b.role === 'SLAVE'))) await this.startSlot(s);
    }
    const now = Date.now();
    for (const g of o.brokerGroups) this.lastMasterSeen.set(g, now);
    if (o.failoverTimeoutMs > 0) {
      this.controllerTimer = setInterval(() => void this.controllerTick(), o.failoverCheckMs);
      this.controllerTimer.unref();
    }
  }

  private masterRole(): 'ASYNC_MASTER' | 'SYNC_MASTER' {
    return this.options.replicationMode === 'SYNC' ? 'SYNC_MASTER' : 'ASYNC_MASTER';
  }

  private namesrvDataDir(i: number): string {
    return path.join(this.options.dataDir, i === 0 ? 'namesrv' : `namesrv-${i}`);
  }

  private slot(name: string): Slot {
    const s = this.slots.find((x) => x.name === name);
    if (!s) throw new Error(`no node ${name} (nodes: ${this.slots.map((x) => x.name).join(', ')})`);
    return s;
  }

  /** Serializes lifecycle operations per group (controller and API calls alike). */
  private inGroup<T>(brokerName: string, op: () => T | Promise<T>): Promise<T> {
    const prev = this.groupOps.get(brokerName) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(op);
    this.groupOps.set(brokerName, next.catch(() => undefined));
    return next;
  }

  private bestSlave(brokerName: string): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s.brokerName !== brokerName || s.state !== 'running' || s.node.config.brokerRole !== 'SLAVE') continue;
      if (!best || s.node.store.getMaxPhyOffset() > best.node.store.getMaxPhyOffset()) best = s;
    }
    return best;
  }

  private brokerConfig(slot: Slot, port: number, haPort: number): BrokerConfig {
    const o = this.options;
    return defaultBrokerConfig({
      brokerName: slot.brokerName,
      clusterName: o.clusterName,
      brokerId: slot.brokerId,
      brokerRole: slot.role,
      host: o.host,
      listenPort: port,
      haListenPort: haPort,
      dataDir: slot.dataDir,
      namesrvAddrs: this.namesrvs.map((n) => n.address),
      flushMode: o.flushMode,
      ...o.brokerOverrides,
    });
  }

  /** Starts a slot's node, deciding its role: a slave whenever another master of its group runs. */
  private async startSlot(slot: Slot): Promise<void> {
    const group = this.slots.filter((s) => s.brokerName === slot.brokerName);
    const otherMaster = group.find((s) => s !== slot && s.state === 'running' && s.node.config.brokerRole !== 'SLAVE');
    if (otherMaster) {
      if (slot.role !== 'SLAVE' || slot.brokerId === 0) {
        slot.role = 'SLAVE';
        slot.brokerId = nextFreeId(new Set(group.filter((s) => s !== slot && s.role === 'SLAVE').map((s) => s.brokerId)));
      }
    } else if (slot.role === 'SLAVE' && slot.brokerId === 0) {
      slot.brokerId = 1;
    }
    writeRoleFile(slot.dataDir, { brokerRole: slot.role, brokerId: slot.brokerId });
    slot.state = 'starting';
    let node = new BrokerNode(this.brokerConfig(slot, slot.port, slot.haPort));
    try {
      await node.start();
    } catch (e) {
      await node.stop().catch(() => undefined);
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || this.options.namesrvPort !== 0 || (slot.port === 0 && slot.haPort <= 0)) {
        slot.state = 'stopped';
        throw e;
      }
      // Free-port mode: the remembered ports were taken meanwhile; any will do.
      node = new BrokerNode(this.brokerConfig(slot, 0, 0));
      await node.start();
    }
    slot.node = node;
    slot.port = node.port;
    slot.haPort = node.ha.haPort;
    slot.state = 'running';
    if (otherMaster) node.ha.setMaster(otherMaster.node.address, otherMaster.node.ha.haServerAddr);
    if (slot.role !== 'SLAVE') this.lastMasterSeen.set(slot.brokerName, Date.now());
    this.event('node-started', slot.name, `${slot.name} started as ${slot.role} (brokerId ${slot.brokerId}) on ${node.address}`);
  }

  private async stopSlotQuietly(s: Slot): Promise<void> {
    // A node already stopping is awaited (BrokerNode.stop shares one promise), so a second
    // cluster stop does not return while stores and NeDB are still closing.
    if (s.state === 'stopping') {
      await s.node.stop().catch(() => undefined);
      return;
    }
    if (s.state !== 'running' && s.state !== 'starting') return;
    s.state = 'stopping';
    await s.node.stop().catch((e: Error) => log.error(`stopping ${s.name}: ${e.message}`));
    s.state = 'stopped';
  }

  /** Promotes `candidate`; the former master (if any) is recorded as a slave for its next start. */
  private async promoteSlot(candidate: Slot, former: Slot | undefined, kind: 'promoted' | 'failover', detail: string): Promise<void> {
    const role = this.masterRole();
    const oldId = candidate.brokerId;
    await candidate.node.promote(role);
    candidate.role = role;
    candidate.brokerId = 0;
    writeRoleFile(candidate.dataDir, { brokerRole: role, brokerId: 0 });
    if (former && former !== candidate) {
      former.role = 'SLAVE';
      former.brokerId = oldId >= 1 ? oldId : 1;
      writeRoleFile(former.dataDir, { brokerRole: 'SLAVE', brokerId: former.brokerId });
    }
    // Other running slaves follow the new master now rather than at their next registration.
    for (const s of this.slots) {
      if (s.brokerName === candidate.brokerName && s !== candidate && s.state === 'running' && s.node.config.brokerRole === 'SLAVE') {
        s.node.ha.setMaster(candidate.node.address, candidate.node.ha.haServerAddr);
      }
    }
    this.lastMasterSeen.set(candidate.brokerName, Date.now());
    this.event(kind, candidate.name, detail);
  }

  /** One controller round: probe each group's master; fail over the ones unreachable too long. */
  private async controllerTick(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    try {
      const timeout = this.options.failoverTimeoutMs;
      await Promise.all(this.options.brokerGroups.map(async (brokerName) => {
        const master = this.slots.find((s) => s.brokerName === brokerName && s.role !== 'SLAVE');
        const now = Date.now();
        if (master && master.state === 'running' && await this.reachable(master.node.address)) {
          this.lastMasterSeen.set(brokerName, now);
          return;
        }
        if (master && (master.state === 'starting' || master.state === 'stopping')) return;
        const since = this.lastMasterSeen.get(brokerName) ?? now;
        if (now - since < timeout) return;
        const candidate = this.bestSlave(brokerName);
        if (!candidate || this.stopped) return;
        await this.inGroup(brokerName, async () => {
          // Re-check under the group lock: an API call may have changed things meanwhile.
          const current = this.slots.find((s) => s.brokerName === brokerName && s.role !== 'SLAVE');
          if (current && current.state === 'running' && await this.reachable(current.node.address)) return;
          if (candidate.state !== 'running' || candidate.node.config.brokerRole !== 'SLAVE') return;
          if (current && current.state === 'running') {
            // Up but unreachable: fence it before another node takes its place.
            current.node.kill();
            current.state = 'killed';
          }
          const unreachableMs = Date.now() - since;
          log.warn(`failover: master of ${brokerName} unreachable for ${unreachableMs} ms; promoting ${candidate.name}`);
          await this.promoteSlot(candidate, current, 'failover',
            `${current?.name ?? 'master'} unreachable for ${unreachableMs} ms: ${candidate.name} promoted at offset ${candidate.node.store.getMaxPhyOffset()}`);
        });
      }));
    } catch (e) {
      log.error(`failover controller: ${(e as Error).message}`);
    } finally {
      this.probing = false;
    }
  }

  private async reachable(addr: string): Promise<boolean> {
    try {
      await this.probeClient.invoke(addr, createRequest(RequestCode.GET_BROKER_CONFIG), Math.max(1000, this.options.failoverCheckMs * 2));
      return true;
    } catch {
      this.probeClient.closeConnection(addr);
      return false;
    }
  }

  private event(kind: ClusterEvent['kind'], node: string | undefined, detail: string): void {
    const e: ClusterEvent = { at: Date.now(), kind, node, detail };
    this.events.push(e);
    if (this.events.length > 500) this.events.splice(0, this.events.length - 500);
    if (kind !== 'node-started') log.warn(detail);
    for (const l of this.eventListeners) {
      try {
        l(e);
      } catch {
        // listeners must not break the cluster
      }
    }
  }
}

function nextFreeId(used: Set<number>): number {
  let id = 1;
  while (used.has(id)) id++;
  return id;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startCluster(opts: ClusterOptions): Promise<EmbeddedCluster> {
  const options: ResolvedOptions = {
    namesrvPort: 9876,
    namesrvCount: 1,
    clusterName: 'DefaultCluster',
    brokerGroups: ['broker-a', 'broker-b'],
    slavesPerGroup: 1,
    brokerBasePort: 10911,
    flushMode: 'ASYNC' as FlushMode,
    replicationMode: 'ASYNC' as const,
    host: '127.0.0.1',
    brokerOverrides: {},
    failoverTimeoutMs: 10_000,
    failoverCheckMs: 1_000,
    ...opts,
  };
  fs.mkdirSync(options.dataDir, { recursive: true });
  const release = lockDataDir(options.dataDir);
  const cluster = new EmbeddedCluster(options);
  cluster.afterStop = release;
  try {
    await cluster.init();
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}
