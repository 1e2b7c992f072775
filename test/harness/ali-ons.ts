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
