/**
 * LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) from orderly consumers. RocketMQ:
 * AdminBrokerProcessor#lockBatchMQ / #unlockBatchMQ, LockBatchRequestBody, UnlockBatchRequestBody.
 * Body `{"consumerGroup","clientId","onlyThisBroker","mqSet":[{"topic","brokerName","queueId"}]}`;
 * the lock answer's body is `{"lockOKMQSet":[...]}`, the queues now held by that client. There are
 * no replicas to ask (lockInStrictMode), so onlyThisBroker makes no difference.
 */
import { z } from 'zod';
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { parseFastjson } from '../../remoting/fastjson.js';
import type { BrokerContext } from '../broker-context.js';
import type { QueueLockManager } from '../client/queue-lock-manager.js';
import { fail, jsonBody, ok } from './response-util.js';

const MessageQueueSchema = z.object({
  topic: z.string().min(1),
  brokerName: z.string(),
  queueId: z.coerce.number().int().min(0),
}).passthrough();

const LockBodySchema = z.object({
  consumerGroup: z.string().min(1),
  clientId: z.string().min(1),
  onlyThisBroker: z.boolean().optional(),
  mqSet: z.array(MessageQueueSchema).default([]),
}).passthrough();

type LockBody = z.infer<typeof LockBodySchema>;

function readBody(req: RemotingCommand, what: string): { body: LockBody } | { error: RemotingCommand } {
  let raw: unknown;
  try {
    raw = parseFastjson((req.body ?? Buffer.alloc(0)).toString('utf8'));
  } catch (err) {
    return { error: fail(req, ResponseCode.SYSTEM_ERROR, `${what} body is not valid JSON: ${(err as Error).message}`) };
  }
  const parsed = LockBodySchema.safeParse(raw);
  if (!parsed.success) {
    return { error: fail(req, ResponseCode.SYSTEM_ERROR,
      `${what} body is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`) };
  }
  return { body: parsed.data };
}

export function processLockBatch(ctx: BrokerContext, locks: QueueLockManager, req: RemotingCommand): RemotingCommand {
  const read = readBody(req, 'lock batch');
  if ('error' in read) return read.error;
  const { body } = read;
  if (ctx.config.brokerRole === 'SLAVE') {
    return fail(req, ResponseCode.SYSTEM_ERROR, `the broker[${ctx.config.brokerName}] is a slave; lock queues on its master`);
  }
  const granted = locks.tryLockBatch(body.consumerGroup, body.mqSet, body.clientId);
  return ok(req, undefined, jsonBody({ lockOKMQSet: granted.map((q) => ({ brokerName: q.brokerName, queueId: q.queueId, topic: q.topic })) }));
}

export function processUnlockBatch(_ctx: BrokerContext, locks: QueueLockManager, req: RemotingCommand): RemotingCommand {
  const read = readBody(req, 'unlock batch');
  if ('error' in read) return read.error;
  locks.unlockBatch(read.body.consumerGroup, read.body.mqSet, read.body.clientId);
  return ok(req);
}
