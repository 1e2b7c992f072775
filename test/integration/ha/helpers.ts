/**
 * Shared pieces of the replication and failover tests: a send history classified the Jepsen way
 * (reliability-security.md §2, §6.1: ok / info / fail), a load generator that keeps N raw sends
 * in flight and asserts nothing, and a drain that reads every queue of a topic from offset 0.
 */
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { pull, call, sendV2Header } from '../../harness/broker-protocol.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';

export type Phase = 'ok' | 'info' | 'fail';

/** What each send ended as: ok = SEND_OK; info = stored-but-unconfirmed or unknown; fail = refused. */
export class History {
  readonly ok = new Set<string>();
  readonly info = new Set<string>();
  readonly fail = new Set<string>();
  readonly codes = new Map<string, number>();
  /** Commitlog offset of each ok send (from its offset msgId). */
  readonly okOffsets = new Map<string, number>();

  record(id: string, outcome: { code: number; msgId?: string } | Error): Phase {
    let phase: Phase;
    let key: string;
    if (outcome instanceof Error) {
      phase = 'info';
      key = outcome.name;
    } else {
      key = String(outcome.code);
      if (outcome.code === ResponseCode.SUCCESS) phase = 'ok';
      else if (outcome.code === ResponseCode.FLUSH_DISK_TIMEOUT || outcome.code === ResponseCode.FLUSH_SLAVE_TIMEOUT
        || outcome.code === ResponseCode.SLAVE_NOT_AVAILABLE) phase = 'info';
      else phase = 'fail';
      if (phase === 'ok' && outcome.msgId) this.okOffsets.set(id, parseInt(outcome.msgId.slice(-16), 16));
    }
    this.codes.set(key, (this.codes.get(key) ?? 0) + 1);
    this[phase].add(id);
    return phase;
  }
}

export interface LoadOptions {
  client: RemotingClient;
  addr: string;
  topic: string;
  queues: number;
  inFlight: number;
  bodyBytes: number;
  prefix: string;
  history: History;
  /** Stop issuing new sends once this returns true. */
  stop: () => boolean;
  max?: number;
  timeoutMs?: number;
}

/** Keeps `inFlight` sends going until stop(); resolves when every issued send has settled. */
export function runLoad(o: LoadOptions): Promise<number> {
  return new Promise((resolve) => {
    let issued = 0;
    let settled = 0;
    let done = false;
    const pad = Buffer.alloc(Math.max(0, o.bodyBytes - 24), 'x');
    const next = (): void => {
      while (!done && issued - settled < o.inFlight) {
        if (o.stop() || (o.max !== undefined && issued >= o.max)) {
          done = true;
          break;
        }
        const id = `${o.prefix}-${issued}`;
        const queueId = issued % o.queues;
        issued++;
        const body = Buffer.concat([Buffer.from(`${id}|`), pad]);
        call(o.client, o.addr, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic: o.topic, queueId, keys: id }), body, o.timeoutMs ?? 10_000)
          .then((res) => o.history.record(id, { code: res.code, msgId: res.extFields?.msgId }), (err: Error) => o.history.record(id, err))
          .finally(() => {
            settled++;
            if (done && settled === issued) resolve(issued);
            else next();
          });
      }
      if (done && settled === issued) resolve(issued);
    };
    next();
  });
}

export interface Stored {
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  id: string;
  msgId: string;
}

/** Every message of the topic's queues on one node, read from offset 0 (pulls that never commit). */
export async function drain(client: RemotingClient, addr: string, topic: string, queues: number): Promise<Stored[]> {
  const out: Stored[] = [];
  for (let queueId = 0; queueId < queues; queueId++) {
    let offset = 0;
    for (;;) {
      const p = await pull(client, addr, { topic, queueId, queueOffset: offset, group: 'HA_CHECKER', maxMsgNums: 256, sysFlag: 0x4 }, 10_000);
      if (p.code !== ResponseCode.SUCCESS) break;
      for (const m of p.messages) {
        const body = m.body.toString('latin1');
        out.push({ queueId, queueOffset: m.queueOffset, commitLogOffset: m.commitLogOffset, id: body.slice(0, body.indexOf('|')), msgId: m.msgId });
      }
      offset = p.nextBeginOffset;
    }
  }
  return out;
}

/** Gaps or disorder in queue offsets (each queue must read 0, 1, 2, …). */
export function queueGaps(stored: Stored[]): number {
  const next = new Map<number, number>();
  let gaps = 0;
  for (const s of stored) {
    const expected = next.get(s.queueId) ?? 0;
    if (s.queueOffset !== expected) gaps++;
    next.set(s.queueId, s.queueOffset + 1);
  }
  return gaps;
}

export function duplicates(ids: string[]): number {
  return ids.length - new Set(ids).size;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
