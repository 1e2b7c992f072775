/** Heartbeat shapes (RocketMQ heartbeat/HeartbeatData, ConsumerData, SubscriptionData). */
import { z } from 'zod';

export const SubscriptionDataSchema = z.object({
  topic: z.string().min(1).max(255),
  subString: z.string().max(65536).default('*'),
  tagsSet: z.array(z.string()).default([]),
  codeSet: z.array(z.number()).default([]),
  subVersion: z.number().default(0),
  expressionType: z.string().default('TAG'),
  classFilterMode: z.boolean().optional(),
}).passthrough();
export type SubscriptionData = z.infer<typeof SubscriptionDataSchema>;

export const ConsumerDataSchema = z.object({
  groupName: z.string().min(1).max(255),
  consumeType: z.string().default('CONSUME_PASSIVELY'),
  messageModel: z.string().default('CLUSTERING'),
  consumeFromWhere: z.string().default('CONSUME_FROM_LAST_OFFSET'),
  subscriptionDataSet: z.array(SubscriptionDataSchema).default([]),
  unitMode: z.boolean().optional(),
}).passthrough();
export type ConsumerData = z.infer<typeof ConsumerDataSchema>;

export const HeartbeatDataSchema = z.object({
  clientID: z.string().min(1).max(512),
  producerDataSet: z.array(z.object({ groupName: z.string().min(1).max(255) }).passthrough()).default([]),
  consumerDataSet: z.array(ConsumerDataSchema).default([]),
}).passthrough();
export type HeartbeatData = z.infer<typeof HeartbeatDataSchema>;
