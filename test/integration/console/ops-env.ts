/**
 * A real embedded cluster and a console service over it (loopback TCP only), for the operator-page
 * integration tests: typed dispatch helpers, a raw producer (SEND_MESSAGE_V2 with any properties,
 * many in flight), ali-ons clients that are all closed afterwards, and a console service that can
 * be stopped and started again on the same data directory (not the cluster).
 */
import { startCluster, type ClusterOptions, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { ConsoleService, type ConsoleServiceOptions } from '../../../src-main/console/service.js';
import type { Session } from '../../../src-main/console/dispatch.js';
import type { ChannelMap } from '../../../src-main/console/contract/contract.js';
import type { Channel } from '../../../src-main/console/contract/channels.js';
import type { JobInfo, MigrationJob } from '../../../src-main/console/contract/ops-dto.js';
import { createAdmin } from '../../../src-main/console/connection.js';
import type { MQAdmin } from '../../../src-main/remoting/admin/mq-admin.js';
import { encodeProperties } from '../../../src-main/broker/store/message-codec.js';
import { tempDir, waitFor } from '../../harness/temp-dir.js';
import { trackClients, type OnsConsumer, type OnsProducer } from '../../harness/ali-ons.js';

export interface OpsEnv {
  cluster: EmbeddedCluster;
  service: ConsoleService;
  session: Session;
  admin: MQAdmin;
  dir: string;
  jobEvents: JobInfo[];
  migrationEvents: MigrationJob[];
  ok<C extends Channel>(channel: C, req: ChannelMap[C]['req']): Promise<ChannelMap[C]['res']>;
  fails(channel: Channel, req: unknown): Promise<{ code: string; message: string }>;
  /** Stops the console service and creates it again on the same data directory; the cluster keeps running. */
  restartService(): Promise<void>;
  waitJob(jobId: string, timeoutMs?: number): Promise<JobInfo>;
  track<T extends OnsConsumer | OnsProducer>(client: T): T;
  closeClients(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOpsEnv(prefix: string, clusterOptions: Partial<ClusterOptions> = {},
  serviceOptions: Partial<ConsoleServiceOptions> = {}): Promise<OpsEnv> {
  const dir = tempDir(prefix);
  const cluster = await startCluster({ dataDir: `${dir.path}/cluster`, namesrvPort: 0, ...clusterOptions });
  const make = (): Promise<ConsoleService> => ConsoleService.create({
    dataDir: `${dir.path}/console`, embeddedNamesrvAddr: cluster.namesrvAddr, mode: 'headless', version: '0.0.0-test',
    log: () => undefined, ...serviceOptions,
  });
  const clients = trackClients({ withDefaultProducer: true });
  const env: OpsEnv = {
    cluster,
    service: await make(),
    session: null as unknown as Session,
    admin: createAdmin(cluster.namesrvAddr),
    dir: dir.path,
    jobEvents: [],
    migrationEvents: [],
    async ok(channel, req) {
      const r = await env.service.dispatch(channel, req, env.session);
      if (!r.ok) throw new Error(`${channel} failed: ${r.error.code} ${r.error.message}`);
      return r.result as never;
    },
    async fails(channel, req) {
      const r = await env.service.dispatch(channel, req, env.session);
      if (r.ok) throw new Error(`${channel} unexpectedly succeeded`);
      return r.error;
    },
    async restartService() {
      await env.service.close();
      env.service = await make();
      openSession();
    },
    async waitJob(jobId, timeoutMs = 60_000) {
      let job: JobInfo | null = null;
      await waitFor(async () => {
        job = await env.ok('job:get', { jobId });
        return job.state !== 'running';
      }, timeoutMs, `job ${jobId}`);
      return job!;
    },
    track: clients.track,
    async closeClients() {
      await clients.closeAll();
    },
    async stop() {
      await env.closeClients();
      env.admin.close();
      await env.service.close();
      await cluster.stop();
      dir.remove();
    },
  };
  const openSession = (): void => {
    env.session = env.service.openSession((topic, payload) => {
      if (topic === 'job:progress') env.jobEvents.push(payload as JobInfo);
      if (topic === 'migration:progress') env.migrationEvents.push(payload as MigrationJob);
    });
  };
  openSession();
  return env;
}

/** A UNIQ_KEY shaped like MessageClientIDSetter's (32 upper-case hex digits). */
export function uniqKey(): string {
  return [...Array(32)].map(() => '0123456789ABCDEF'[Math.floor(Math.random() * 16)]).join('');
}

/** Route of a topic once the NameServer has it (brokers register new topics asynchronously). */
export async function waitRoute(admin: MQAdmin, topic: string): Promise<void> {
  await waitFor(async () => {
    try {
      await admin.routeInfo(topic);
      return true;
    } catch {
      return false;
    }
  }, 15_000, `route of ${topic}`);
}

export interface RawMessage {
  topic: string;
  body: Buffer | string;
  properties: Record<string, string>;
  queueId?: number;
  sysFlag?: number;
  producerGroup?: string;
}

/** SEND_MESSAGE_V2 of many messages, `inFlight` at a time, round robin over the topic's writable master queues. */
export async function produce(admin: MQAdmin, messages: Iterable<RawMessage>, inFlight = 64): Promise<Array<{ msgId: string; brokerName: string; queueId: number; queueOffset: number }>> {
  const queuesOf = new Map<string, Array<{ brokerName: string; addr: string; queueId: number }>>();
  const out: Array<{ msgId: string; brokerName: string; queueId: number; queueOffset: number }> = [];
  const pending = new Set<Promise<void>>();
  let n = 0;
  for (const m of messages) {
    let queues = queuesOf.get(m.topic);
    if (!queues) {
      await waitRoute(admin, m.topic);
      const route = await admin.routeInfo(m.topic);
      queues = [];
      for (const q of route.queueDatas) {
        const addr = route.brokerDatas.find((b) => b.brokerName === q.brokerName)?.brokerAddrs['0'];
        if (addr) for (let i = 0; i < q.writeQueueNums; i++) queues.push({ brokerName: q.brokerName, addr, queueId: i });
      }
      queuesOf.set(m.topic, queues);
    }
    const target = m.queueId !== undefined ? queues.find((q) => q.queueId === m.queueId)! : queues[n % queues.length]!;
    const index = n++;
    const p = admin.sendMessage(target.addr, {
      producerGroup: m.producerGroup ?? 'PID_OPS_TEST', topic: m.topic, queueId: target.queueId,
      properties: encodeProperties({ WAIT: 'true', ...m.properties }), body: typeof m.body === 'string' ? Buffer.from(m.body) : m.body, sysFlag: m.sysFlag,
    }).then((r) => {
      out[index] = { msgId: r.msgId!, brokerName: target.brokerName, queueId: r.queueId ?? target.queueId, queueOffset: r.queueOffset ?? -1 };
    }).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  return out;
}
