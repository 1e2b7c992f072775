/**
 * Helpers for integration tests that drive the embedded cluster with raw RocketMQ protocol
 * requests over real TCP (our RemotingClient, requests built with createRequest).
 */
import { connect, type Socket } from 'node:net';
import { startCluster, type ClusterOptions, type EmbeddedCluster } from '../../src-main/broker/cluster/cluster.js';
import { RemotingClient } from '../../src-main/remoting/remoting-client.js';
import { createRequest, type HeaderValues, type RemotingCommand } from '../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../src-main/remoting/request-code.js';
import { FrameDecoder, encodeCommand } from '../../src-main/remoting/frame-codec.js';
import { parseFastjson } from '../../src-main/remoting/fastjson.js';
import { decodeMessages, encodeProperties, type MessageExt } from '../../src-main/broker/store/message-codec.js';
import { tempDir } from './temp-dir.js';

export const PULL_FLAG = { COMMIT_OFFSET: 0x1, SUSPEND: 0x2, SUBSCRIPTION: 0x4 } as const;

export interface TestCluster {
  cluster: EmbeddedCluster;
  dataDir: string;
  client: RemotingClient;
  /** NameServer address. */
  namesrv: string;
  /** Master addresses. */
  brokerA: string;
  brokerB: string;
  /** Stops the cluster and starts it again on the same data dir (new ports); addresses are refreshed. */
  restart(): Promise<void>;
  /** Stops the cluster, closes the client, removes the data dir. */
  stop(): Promise<void>;
}

export async function startTestCluster(prefix: string, options: Partial<ClusterOptions> = {}): Promise<TestCluster> {
  const dir = tempDir(prefix);
  const start = (): Promise<EmbeddedCluster> => startCluster({ dataDir: dir.path, namesrvPort: 0, ...options });
  const t: TestCluster = {
    cluster: await start(),
    dataDir: dir.path,
    client: new RemotingClient({ defaultTimeoutMs: 5000 }),
    namesrv: '',
    brokerA: '',
    brokerB: '',
    async restart() {
      t.client.close();
      await t.cluster.stop();
      t.cluster = await start();
      t.client = new RemotingClient({ defaultTimeoutMs: 5000 });
      refresh();
    },
    async stop() {
      t.client.close();
      await t.cluster.stop();
      dir.remove();
    },
  };
  const refresh = (): void => {
    t.namesrv = t.cluster.namesrvAddr;
    t.brokerA = t.cluster.broker('broker-a')?.address ?? '';
    t.brokerB = t.cluster.broker('broker-b')?.address ?? '';
  };
  refresh();
  return t;
}

export function call(client: RemotingClient, addr: string, code: number, header?: HeaderValues, body?: Buffer,
  timeoutMs?: number): Promise<RemotingCommand> {
  return client.invoke(addr, createRequest(code, header, body), timeoutMs);
}

/** Parses a fastjson body (bare numeric keys, MessageQueue object keys become "topic|broker|queueId"). */
export function body<T = Record<string, unknown>>(res: RemotingCommand): T {
  if (!res.body || res.body.length === 0) throw new Error(`response ${res.code} (${res.remark ?? ''}) has no body`);
  return parseFastjson(res.body.toString('utf8')) as T;
}

export function ext(res: RemotingCommand, name: string): string {
  const v = res.extFields?.[name];
  if (v === undefined) throw new Error(`response ${res.code} (${res.remark ?? ''}) has no header field ${name}`);
  return v;
}

export const num = (res: RemotingCommand, name: string): number => Number(ext(res, name));

export interface SendOptions {
  topic: string;
  queueId?: number;
  body?: string | Buffer;
  tags?: string;
  keys?: string;
  properties?: Record<string, string>;
  producerGroup?: string;
  flag?: number;
  sysFlag?: number;
  bornTimestamp?: number;
  defaultTopicQueueNums?: number;
}

/** SEND_MESSAGE_V2 header (one-letter names) for a single message. */
export function sendV2Header(o: SendOptions): HeaderValues {
  const props: Record<string, string> = { ...(o.properties ?? {}) };
  if (o.tags !== undefined) props.TAGS = o.tags;
  if (o.keys !== undefined) props.KEYS = o.keys;
  return {
    a: o.producerGroup ?? 'PID_TEST',
    b: o.topic,
    c: 'TBW102',
    d: o.defaultTopicQueueNums ?? 4,
    e: o.queueId ?? 0,
    f: o.sysFlag ?? 0,
    g: o.bornTimestamp ?? Date.now(),
    h: o.flag ?? 0,
    i: encodeProperties(props),
  };
}

export interface SendResult {
  msgId: string;
  queueId: number;
  queueOffset: number;
  response: RemotingCommand;
}

/** Sends one message with SEND_MESSAGE_V2; throws unless the broker answers SUCCESS. */
export async function send(client: RemotingClient, addr: string, o: SendOptions): Promise<SendResult> {
  const payload = typeof o.body === 'string' ? Buffer.from(o.body) : o.body ?? Buffer.from('body');
  const res = await call(client, addr, RequestCode.SEND_MESSAGE_V2, sendV2Header(o), payload);
  if (res.code !== 0) throw new Error(`send to ${o.topic} failed: ${res.code} ${res.remark ?? ''}`);
  return { msgId: ext(res, 'msgId'), queueId: num(res, 'queueId'), queueOffset: num(res, 'queueOffset'), response: res };
}

export interface PullOptions {
  topic: string;
  queueId?: number;
  queueOffset: number;
  group?: string;
  maxMsgNums?: number;
  sysFlag?: number;
  commitOffset?: number;
  suspendTimeoutMillis?: number;
  subscription?: string;
}

export interface PullResult {
  code: number;
  remark: string | undefined;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  messages: MessageExt[];
  response: RemotingCommand;
}

export async function pull(client: RemotingClient, addr: string, o: PullOptions, timeoutMs?: number): Promise<PullResult> {
  const sysFlag = o.sysFlag ?? PULL_FLAG.SUBSCRIPTION;
  const res = await call(client, addr, RequestCode.PULL_MESSAGE, {
    consumerGroup: o.group ?? 'CID_TEST',
    topic: o.topic,
    queueId: o.queueId ?? 0,
    queueOffset: o.queueOffset,
    maxMsgNums: o.maxMsgNums ?? 32,
    sysFlag,
    commitOffset: o.commitOffset ?? 0,
    suspendTimeoutMillis: o.suspendTimeoutMillis ?? 15000,
    subscription: o.subscription ?? '*',
    subVersion: 0,
    expressionType: 'TAG',
  }, undefined, timeoutMs);
  const f = res.extFields ?? {};
  return {
    code: res.code,
    remark: res.remark,
    nextBeginOffset: Number(f.nextBeginOffset),
    minOffset: Number(f.minOffset),
    maxOffset: Number(f.maxOffset),
    messages: res.code === 0 && res.body ? decodeMessages(res.body) : [],
    response: res,
  };
}

export async function queryConsumerOffset(client: RemotingClient, addr: string, group: string, topic: string,
  queueId: number): Promise<RemotingCommand> {
  return call(client, addr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId });
}

export interface SubscriptionSpec {
  topic: string;
  subString?: string;
}

export interface ConsumerSpec {
  groupName: string;
  subscriptions?: SubscriptionSpec[];
  messageModel?: 'CLUSTERING' | 'BROADCASTING';
}

/** HeartbeatData JSON as a Java client writes it. */
export function heartbeatBody(clientID: string, consumers: ConsumerSpec[] = [], producerGroups: string[] = []): Buffer {
  const data = {
    clientID,
    producerDataSet: producerGroups.map((groupName) => ({ groupName })),
    consumerDataSet: consumers.map((c) => ({
      groupName: c.groupName,
      consumeType: 'CONSUME_PASSIVELY',
      messageModel: c.messageModel ?? 'CLUSTERING',
      consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      subscriptionDataSet: (c.subscriptions ?? []).map((s) => ({
        classFilterMode: false,
        topic: s.topic,
        subString: s.subString ?? '*',
        tagsSet: [],
        codeSet: [],
        subVersion: Date.now(),
        expressionType: 'TAG',
      })),
      unitMode: false,
    })),
  };
  return Buffer.from(JSON.stringify(data), 'utf8');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw TCP connection that collects decoded frames, for malformed-input tests. */
export class RawConnection {
  readonly frames: RemotingCommand[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private readonly waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) this.frames.push(f);
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(addr: string): Promise<RawConnection> {
    const idx = addr.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const s = connect({ host: addr.slice(0, idx), port: Number(addr.slice(idx + 1)) });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawConnection(s));
      });
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  writeCommand(cmd: RemotingCommand): void {
    this.socket.write(encodeCommand(cmd));
  }

  /** Waits for a frame with this opaque; rejects on close or timeout. */
  async response(opaque: number, timeoutMs = 3000): Promise<RemotingCommand> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find((x) => x.opaque === opaque);
      if (f) return f;
      if (this.closed) throw new Error(`connection closed before the response to opaque ${opaque}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response to opaque ${opaque} within ${timeoutMs} ms`);
      await this.next(left);
    }
  }

  /** Resolves true once the server has closed the connection, false after timeoutMs. */
  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.next(left);
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private next(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
