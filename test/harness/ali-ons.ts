/**
 * The real third-party client `ali-ons` (npm), pointed at a NameServer address. It requires an
 * httpclient option even when nameSrv is given (it only uses it to look up Aliyun's address
 * server), so it gets one that refuses, proving no HTTP lookup happens.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as {
  Producer: new (options: Record<string, unknown>) => OnsProducer;
  Consumer: new (options: Record<string, unknown>) => OnsConsumer;
  Message: new (topic: string, tags: string, body: string | Buffer) => OnsMessage;
};

export interface OnsMessage {
  topic: string;
  tags: string;
  body: Buffer;
  keys: string[];
  msgId: string;
  queueId: number;
  queueOffset: number;
  reconsumeTimes: number;
  properties: Record<string, string>;
}

export interface OnsSendResult {
  sendStatus: string;
  msgId: string;
  messageQueue: { topic: string; brokerName: string; queueId: number };
  queueOffset: number;
}

export interface OnsProducer {
  ready(): Promise<void>;
  send(msg: OnsMessage): Promise<OnsSendResult>;
  close(): Promise<void>;
  on(event: string, cb: (err: Error) => void): void;
}

export interface OnsConsumer {
  ready(): Promise<void>;
  subscribe(topic: string, expression: string, handler: (msg: OnsMessage) => Promise<unknown>): void;
  close(): Promise<void>;
  on(event: string, cb: (err: Error) => void): void;
}

const refusingHttpClient = {
  request(): Promise<never> {
    return Promise.reject(new Error('no HTTP lookups in tests: nameSrv is given'));
  },
};

export const silentLogger = {
  info: (): void => undefined,
  warn: (): void => undefined,
  error: (): void => undefined,
  debug: (): void => undefined,
};

const common = (namesrvAddr: string): Record<string, unknown> => ({
  nameSrv: namesrvAddr.split(';'),
  httpclient: refusingHttpClient,
  clientIP: '127.0.0.1',
  logger: silentLogger,
  accessKeyId: undefined,
  accessKeySecret: undefined,
});

export function createProducer(namesrvAddr: string, producerGroup: string, instanceName: string): OnsProducer {
  return new ons.Producer({ ...common(namesrvAddr), producerGroup, instanceName });
}

export function createConsumer(namesrvAddr: string, consumerGroup: string, instanceName: string,
  options: Record<string, unknown> = {}): OnsConsumer {
  return new ons.Consumer({ ...common(namesrvAddr), consumerGroup, instanceName, ...options });
}

export function createMessage(topic: string, tags: string, body: string | Buffer, keys: string[] = []): OnsMessage {
  const msg = new ons.Message(topic, tags, body);
  msg.keys = keys;
  return msg;
}

/**
 * ali-ons consumers start a module-wide CLIENT_INNER_PRODUCER on their own client instance and
 * never close it; closing it here means no client outlives its test (and its cluster).
 */
export async function closeDefaultProducer(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const MQProducer = require('ali-ons/lib/producer/mq_producer') as { defaultProducer: OnsProducer | null };
  const p = MQProducer.defaultProducer;
  MQProducer.defaultProducer = null;
  if (p) await p.close().catch(() => undefined);
}

export type OnsClient = OnsConsumer | OnsProducer;

/**
 * The clients a test made, so every one is closed after it, pass or fail: ali-ons shares one
 * MQClient per client id, so a client left open would be reused by the next test with stale routes.
 */
export interface OnsClients {
  /** The clients not closed yet (a tracked client leaves the set when it is closed). */
  readonly open: ReadonlySet<OnsClient>;
  track<T extends OnsClient>(client: T): T;
  createProducer(...args: Parameters<typeof createProducer>): OnsProducer;
  createConsumer(...args: Parameters<typeof createConsumer>): OnsConsumer;
  /** Closes every open client at once, ignoring close errors (then the default producer, if asked). */
  closeAll(): Promise<void>;
}

/**
 * withDefaultProducer: closeAll also closes the module-wide producer the consumers started
 * (closeDefaultProducer), after the tracked clients.
 */
export function trackClients(options: { withDefaultProducer?: boolean } = {}): OnsClients {
  const open = new Set<OnsClient>();
  const track = <T extends OnsClient>(client: T): T => {
    open.add(client);
    const close = client.close.bind(client);
    client.close = async () => {
      open.delete(client);
      await close();
    };
    return client;
  };
  return {
    open,
    track,
    createProducer: (...args) => track(createProducer(...args)),
    createConsumer: (...args) => track(createConsumer(...args)),
    async closeAll() {
      await Promise.all([...open].map((c) => c.close().catch(() => undefined)));
      if (options.withDefaultProducer) await closeDefaultProducer();
    },
  };
}
