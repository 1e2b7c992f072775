/**
 * The embedded cluster: NameServer(s) and broker groups (master + slaves) in one process, all on
 * loopback, each node's data under <dataDir>/<node>. With namesrvPort 0 every port is chosen free,
 * so two clusters can run side by side. Everything clients see goes through the protocol; the
 * lifecycle and fault controls here (stop, kill, restart, promote, pause replication, stop and
 * start a NameServer) are in-process, for the console and for tests.
 *
 * Nodes keep their name (= data directory, "broker-a-0", "broker-a-1") whatever role they take
 * (node-slots.ts). Who is master, automatic failover and a returning master's demotion are the
 * failover controller's (failover-controller.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { NameServer } from '../namesrv/namesrv.js';
import { BrokerNode } from '../broker.js';
import { defaultBrokerConfig, type BrokerConfig } from '../config/broker-config.js';
import { createLogger } from '../../remoting/logger.js';
import { Perm } from '../metadata/system-names.js';
import {
  resolveClusterOptions,
  type ClusterEvent,
  type ClusterOptions,
  type NamesrvInfo,
  type NodeInfo,
  type ResolvedClusterOptions,
} from './cluster-types.js';
import { lockDataDir } from './data-dir-lock.js';
import { FailoverController } from './failover-controller.js';
import { bestSlave, layoutGroup, saveRole, type Slot } from './node-slots.js';

export type { ClusterEvent, ClusterOptions, NamesrvInfo, NodeInfo, NodeState } from './cluster-types.js';

const log = createLogger('cluster');

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
  private readonly controller: FailoverController;

  constructor(readonly options: ResolvedClusterOptions) {
    this.controller = new FailoverController({
      options,
      slots: this.slots,
      inGroup: (brokerName, op) => this.inGroup(brokerName, op),
      event: (kind, node, detail) => this.event(kind, node, detail),
    });
  }

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
      const candidate = nodeName ? group.find((s) => s.name === nodeName) : bestSlave(this.slots, brokerName);
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
      await this.controller.promote(candidate, master ?? group.find((s) => s !== candidate && s.role !== 'SLAVE'), 'promoted',
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
    this.controller.stop();
    await Promise.all([...this.groupOps.values()].map((p) => p.catch(() => undefined)));
    this.controller.closeConnections();
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
      const group = layoutGroup(o, g, brokerName);
      this.slots.push(...group);
      // Masters first, so slaves find them registered.
      for (const s of [...group].sort((a, b) => Number(a.role === 'SLAVE') - Number(b.role === 'SLAVE'))) await this.startSlot(s);
    }
    this.controller.start();
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

  /** Starts a slot's node in the role the controller gives it: a slave whenever another master of its group runs. */
  private async startSlot(slot: Slot): Promise<void> {
    const otherMaster = this.controller.roleOnStart(slot);
    saveRole(slot);
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
    if (slot.role !== 'SLAVE') this.controller.masterSeen(slot.brokerName);
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startCluster(opts: ClusterOptions): Promise<EmbeddedCluster> {
  const options = resolveClusterOptions(opts);
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
