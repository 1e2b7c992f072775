/**
 * Trace (issue 5): for one message, the path reconstructed from the broker's own records — with
 * clients that send no trace records (ali-ons) — matches what the test did: sent by a producer
 * group, consumed by group A, retried twice by group B, then in B's DLQ. The reconstruction is the
 * console's `trace:by-id` over standard admin commands (query by id, group offsets, retry and DLQ
 * copies), so it works the same against a real cluster.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpsEnv, type OpsEnv } from '../console/ops-env.js';
import { createConsumer, createMessage, createProducer, type OnsMessage } from '../../harness/ali-ons.js';
import { waitFor } from '../../harness/temp-dir.js';

const requireCjs = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ACTION_RETRY = (requireCjs('ali-ons') as { Consumer: { ACTION_RETRY: symbol } }).Consumer.ACTION_RETRY;
/** Short delay levels so two retries take about a second (retries use level 3 + reconsumeTimes). */
const SHORT_LEVELS = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800];

let env: OpsEnv;

beforeAll(async () => {
  env = await startOpsEnv('trace', { brokerOverrides: { delayLevelsMs: SHORT_LEVELS } });
});

afterAll(async () => {
  await env?.stop();
});

describe('message trace reconstructed from the broker records', () => {
  it('shows sent, consumed by group A, retried twice by group B, then in B\'s DLQ', async () => {
    const topic = 'TraceTopic';
    await env.admin.createTopic(topic, 1);
    const consumedByA: string[] = [];
    const attemptsByB: number[] = [];
    const a = env.track(createConsumer(env.cluster.namesrvAddr, 'GID_TRACE_A', 'trace-a'));
    a.subscribe(topic, '*', async (msg: OnsMessage) => { consumedByA.push(msg.msgId); });
    const b = env.track(createConsumer(env.cluster.namesrvAddr, 'GID_TRACE_B', 'trace-b', { maxReconsumeTimes: 2 }));
    b.subscribe(topic, '*', async (msg: OnsMessage) => {
      attemptsByB.push(msg.reconsumeTimes);
      // ali-ons honours ACTION_RETRY only on a first delivery; later deliveries fail by throwing.
      if (msg.reconsumeTimes === 0) return ACTION_RETRY;
      throw new Error('group B always fails');
    });
    await Promise.all([a.ready(), b.ready()]);

    const producer = env.track(createProducer(env.cluster.namesrvAddr, 'PID_TRACE', 'trace-p'));
    await producer.ready();
    const sent = await producer.send(createMessage(topic, 'TagT', 'traced body', ['trace-key-1']));
    expect(sent.sendStatus).toBe('SEND_OK');

    await waitFor(() => consumedByA.length === 1 && attemptsByB.length === 3, 30_000,
      `A to consume once (${consumedByA.length}) and B to fail 3 times (${attemptsByB.length})`);
    expect(attemptsByB).toEqual([0, 1, 2]);

    // The DLQ copy and A's committed offset must be on the broker before the trace is read.
    let trace!: Awaited<ReturnType<OpsEnv['ok']>> & { traces: Array<{ groups: Array<{ group: string; consumption: string; retries: unknown[]; dlq: unknown[] }>; producerGroup: string | null; message: { topic: string; msgId: string } }> };
    await waitFor(async () => {
      trace = await env.ok('trace:by-id', { msgId: sent.msgId }) as typeof trace;
      const t = trace.traces[0];
      const groupA = t?.groups.find((g) => g.group === 'GID_TRACE_A');
      const groupB = t?.groups.find((g) => g.group === 'GID_TRACE_B');
      return groupA?.consumption === 'consumed' && (groupB?.dlq.length ?? 0) === 1;
    }, 20_000, 'the trace to show A consumed and B in its DLQ');

    const t = trace.traces[0]!;
    expect(t.message.topic).toBe(topic);
    expect(t.message.msgId).toBe(sent.msgId);
    const groupA = t.groups.find((g) => g.group === 'GID_TRACE_A')!;
    expect(groupA.consumption).toBe('consumed');
    expect(groupA.retries).toHaveLength(0);
    expect(groupA.dlq).toHaveLength(0);
    const groupB = t.groups.find((g) => g.group === 'GID_TRACE_B')!;
    expect(groupB.retries).toHaveLength(2);
    expect(groupB.dlq).toHaveLength(1);
    expect(t.producerGroup).toBe('PID_TRACE');
    console.log(`[trace] ${sent.msgId}: producer ${t.producerGroup ?? 'unknown'}; A ${groupA.consumption}; `
      + `B retried ${groupB.retries.length}×, DLQ ${groupB.dlq.length}`);
    await env.closeClients();
  }, 60_000);
});
