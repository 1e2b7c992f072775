/**
 * Who is master (RocketMQ 5 controller-style, in process). Every `failoverCheckMs` (1 s) it probes
 * each group's master over TCP (GET_BROKER_CONFIG, any answer counts). A master unreachable for
 * `failoverTimeoutMs` (10 s; 0 = off) is replaced by the running slave with the longest log:
 * promoted to the group's master role (ASYNC_MASTER, or SYNC_MASTER with replicationMode SYNC),
 * registered as brokerId 0; the old master is recorded as a slave. A master that is up but
 * unreachable is killed first (fenced), so a group never has two.
 *
 * The same rules serve manual promotion (`promote`) and a node coming back: a node started while
 * its group has another running master comes back as that master's slave (and cuts whatever tail
 * it holds that the new master never had; see ha/ha-epochs.ts).
 */
import { RemotingClient } from '../../remoting/remoting-client.js';
import { createRequest } from '../../remoting/remoting-command.js';
import { RequestCode } from '../../remoting/request-code.js';
import { createLogger } from '../../remoting/logger.js';
import type { ClusterEvent, ResolvedClusterOptions } from './cluster-types.js';
import { bestSlave, masterRole, nextFreeId, saveRole, type Slot } from './node-slots.js';

const log = createLogger('cluster');

/** What the controller needs from the cluster. */
export interface FailoverHost {
  readonly options: ResolvedClusterOptions;
  readonly slots: readonly Slot[];
  /** Runs `op` after the group's other lifecycle operations (controller and API calls alike). */
  inGroup<T>(brokerName: string, op: () => T | Promise<T>): Promise<T>;
  event(kind: ClusterEvent['kind'], node: string | undefined, detail: string): void;
}

export class FailoverController {
  private readonly lastMasterSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  private readonly probeClient = new RemotingClient({ connectTimeoutMs: 1000, logger: log });

  constructor(private readonly host: FailoverHost) {}

  /** Every group's master counts as seen now; probing starts unless failover is off. */
  start(): void {
    const o = this.host.options;
    const now = Date.now();
    for (const g of o.brokerGroups) this.lastMasterSeen.set(g, now);
    if (o.failoverTimeoutMs > 0) {
      this.timer = setInterval(() => void this.tick(), o.failoverCheckMs);
      this.timer.unref();
    }
  }

  /** No new rounds and no new promotions; a round already inside its group lock finishes. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Closes the probe connections (after in-flight group operations have ended). */
  closeConnections(): void {
    this.probeClient.close();
  }

  /** A master of the group started or was promoted: its unreachable time starts over. */
  masterSeen(brokerName: string): void {
    this.lastMasterSeen.set(brokerName, Date.now());
  }

  /**
   * Decides the role of `slot` as it starts: a slave (with a free brokerId) whenever another
   * master of its group runs, which it returns so the node can follow it.
   */
  roleOnStart(slot: Slot): Slot | undefined {
    const group = this.host.slots.filter((s) => s.brokerName === slot.brokerName);
    const otherMaster = group.find((s) => s !== slot && s.state === 'running' && s.node.config.brokerRole !== 'SLAVE');
    if (otherMaster) {
      if (slot.role !== 'SLAVE' || slot.brokerId === 0) {
        slot.role = 'SLAVE';
        slot.brokerId = nextFreeId(new Set(group.filter((s) => s !== slot && s.role === 'SLAVE').map((s) => s.brokerId)));
      }
    } else if (slot.role === 'SLAVE' && slot.brokerId === 0) {
      slot.brokerId = 1;
    }
    return otherMaster;
  }

  /** Promotes `candidate`; the former master (if any) is recorded as a slave for its next start. */
  async promote(candidate: Slot, former: Slot | undefined, kind: 'promoted' | 'failover', detail: string): Promise<void> {
    const role = masterRole(this.host.options.replicationMode);
    const oldId = candidate.brokerId;
    await candidate.node.promote(role);
    candidate.role = role;
    candidate.brokerId = 0;
    saveRole(candidate);
    if (former && former !== candidate) {
      former.role = 'SLAVE';
      former.brokerId = oldId >= 1 ? oldId : 1;
      saveRole(former);
    }
    // Other running slaves follow the new master now rather than at their next registration.
    for (const s of this.host.slots) {
      if (s.brokerName === candidate.brokerName && s !== candidate && s.state === 'running' && s.node.config.brokerRole === 'SLAVE') {
        s.node.ha.setMaster(candidate.node.address, candidate.node.ha.haServerAddr);
      }
    }
    this.masterSeen(candidate.brokerName);
    this.host.event(kind, candidate.name, detail);
  }

  /** One round: probe each group's master; fail over the ones unreachable too long. */
  private async tick(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    const { options, slots } = this.host;
    try {
      const timeout = options.failoverTimeoutMs;
      await Promise.all(options.brokerGroups.map(async (brokerName) => {
        const master = slots.find((s) => s.brokerName === brokerName && s.role !== 'SLAVE');
        const now = Date.now();
        if (master && master.state === 'running' && await this.reachable(master.node.address)) {
          this.lastMasterSeen.set(brokerName, now);
          return;
        }
        if (master && (master.state === 'starting' || master.state === 'stopping')) return;
        const since = this.lastMasterSeen.get(brokerName) ?? now;
        if (now - since < timeout) return;
        const candidate = bestSlave(slots, brokerName);
        if (!candidate || this.stopped) return;
        await this.host.inGroup(brokerName, async () => {
          // Re-check under the group lock: an API call may have changed things meanwhile.
          const current = slots.find((s) => s.brokerName === brokerName && s.role !== 'SLAVE');
          if (current && current.state === 'running' && await this.reachable(current.node.address)) return;
          if (candidate.state !== 'running' || candidate.node.config.brokerRole !== 'SLAVE') return;
          if (current && current.state === 'running') {
            // Up but unreachable: fence it before another node takes its place.
            current.node.kill();
            current.state = 'killed';
          }
          const unreachableMs = Date.now() - since;
          log.warn(`failover: master of ${brokerName} unreachable for ${unreachableMs} ms; promoting ${candidate.name}`);
          await this.promote(candidate, current, 'failover',
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
      await this.probeClient.invoke(addr, createRequest(RequestCode.GET_BROKER_CONFIG), Math.max(1000, this.host.options.failoverCheckMs * 2));
      return true;
    } catch {
      this.probeClient.closeConnection(addr);
      return false;
    }
  }
}
