/**
 * Live tails for the Playground: each polls the queues of one topic from their end, with a tag
 * expression or a SQL92 selector, and pushes new messages to the page that asked (a
 * `playground:tail` event). A tail belongs to its session and stops with it. Polling (not
 * long-polling) keeps stop immediate and needs nothing a real cluster might lack: the SQL92
 * selector is evaluated here, on the message properties (TAGS, KEYS and user properties, as a
 * RocketMQ broker does), so it works on clusters with `enablePropertyFilter=false` too.
 */
import { randomBytes } from 'node:crypto';
import { parseSql92, Sql92ParseError, type Sql92Expression } from '../broker/filter/sql92-parser.js';
import { matchesSql92 } from '../broker/filter/sql92-evaluator.js';
import { ConsoleError } from './contract/errors.js';
import type { MessageRow } from './contract/dto.js';
import type { Session } from './dispatch.js';
import type { Connection } from './connection.js';
import { TOOLS_CONSUMER_GROUP, decodeMessages, errorText, routeBrokers, toRow, topicRoute } from './cluster-view.js';

const POLL_MS = 500;
const ROUTE_REFRESH_MS = 10_000;
const MAX_PER_EVENT = 200;
export const MAX_TAILS_PER_SESSION = 4;

interface QueueCursor {
  brokerName: string;
  addr: string;
  queueId: number;
  offset: number;
}

interface Tail {
  id: string;
  session: Session;
  connection: Connection;
  topic: string;
  tags: string;
  tagSet: Set<string> | null;
  sql: Sql92Expression | null;
  cursors: Map<string, QueueCursor>;
  timer: NodeJS.Timeout | null;
  running: boolean;
  lastRoute: number;
  lastError: string | null;
}

/** Parses a SQL92 selector for a tail; a syntax error is a BAD_REQUEST naming the problem. */
export function compileTailSql(text: string): Sql92Expression {
  try {
    return parseSql92(text);
  } catch (error) {
    if (error instanceof Sql92ParseError) throw new ConsoleError('BAD_REQUEST', `SQL92 filter: ${error.message}`);
    throw error;
  }
}

/** `*` or `a || b || c` → null (all) or the set of tags. RocketMQ FilterAPI.buildSubscriptionData. */
export function parseTags(expression: string): Set<string> | null {
  const trimmed = expression.trim();
  if (trimmed === '' || trimmed === '*') return null;
  return new Set(trimmed.split('||').map((t) => t.trim()).filter((t) => t.length > 0));
}

export class TailManager {
  private readonly tails = new Map<string, Tail>();

  /** `filter`: a tag expression, or a SQL92 selector on the properties (then tags are not used). */
  async start(session: Session, connection: Connection, topic: string, filter: string | { sql: string }): Promise<string> {
    const sql = typeof filter === 'string' ? null : compileTailSql(filter.sql);
    const tags = typeof filter === 'string' ? filter : '*';
    const mine = [...this.tails.values()].filter((t) => t.session.id === session.id);
    if (mine.length >= MAX_TAILS_PER_SESSION) {
      throw new ConsoleError('CONFLICT', `At most ${MAX_TAILS_PER_SESSION} live tails per page; stop one first`);
    }
    const tail: Tail = {
      id: `t${randomBytes(8).toString('hex')}`,
      session, connection, topic, tags, tagSet: parseTags(tags), sql, cursors: new Map(), timer: null, running: true, lastRoute: 0, lastError: null,
    };
    await this.refreshRoute(tail, true);
    this.tails.set(tail.id, tail);
    this.schedule(tail);
    return tail.id;
  }

  stop(id: string, session: Session): void {
    const tail = this.tails.get(id);
    if (!tail || tail.session.id !== session.id) throw new ConsoleError('NOT_FOUND', 'No such live tail');
    this.halt(tail);
  }

  stopSession(sessionId: string): void {
    for (const t of [...this.tails.values()]) if (t.session.id === sessionId) this.halt(t);
  }

  stopAll(): void {
    for (const t of [...this.tails.values()]) this.halt(t);
  }

  get size(): number {
    return this.tails.size;
  }

  private halt(tail: Tail): void {
    tail.running = false;
    if (tail.timer) clearTimeout(tail.timer);
    tail.timer = null;
    this.tails.delete(tail.id);
  }

  private schedule(tail: Tail): void {
    if (!tail.running) return;
    tail.timer = setTimeout(() => {
      void this.poll(tail).finally(() => this.schedule(tail));
    }, POLL_MS);
    tail.timer.unref?.();
  }

  /** New queues start at their end; known queues keep their cursor. */
  private async refreshRoute(tail: Tail, initial: boolean): Promise<void> {
    const admin = tail.connection.admin;
    const route = await topicRoute(admin, tail.topic);
    for (const b of routeBrokers(route)) {
      if (!b.addr) continue;
      for (let queueId = 0; queueId < b.readQueueNums; queueId++) {
        const key = `${b.brokerName}/${queueId}`;
        const existing = tail.cursors.get(key);
        if (existing) {
          existing.addr = b.addr;
          continue;
        }
        const offset = initial ? await admin.maxOffset(b.addr, tail.topic, queueId) : 0;
        tail.cursors.set(key, { brokerName: b.brokerName, addr: b.addr, queueId, offset });
      }
    }
    tail.lastRoute = Date.now();
  }

  private async poll(tail: Tail): Promise<void> {
    const admin = tail.connection.admin;
    const batch: MessageRow[] = [];
    let error: string | null = null;
    try {
      if (Date.now() - tail.lastRoute > ROUTE_REFRESH_MS) await this.refreshRoute(tail, false);
      for (const cursor of tail.cursors.values()) {
        if (!tail.running || batch.length >= MAX_PER_EVENT) break;
        const r = await admin.pull(cursor.addr, {
          group: TOOLS_CONSUMER_GROUP, topic: tail.topic, queueId: cursor.queueId, offset: cursor.offset, maxNums: 32, subscription: tail.tags,
        });
        if (r.status === 'FOUND') {
          for (const m of decodeMessages(r.body)) {
            if (tail.tagSet && !tail.tagSet.has(m.properties['TAGS'] ?? '')) continue;
            if (tail.sql && !matchesSql92(tail.sql, m.properties)) continue;
            batch.push(toRow(m, cursor.brokerName));
          }
        }
        if (r.nextBeginOffset !== null && r.nextBeginOffset > cursor.offset) cursor.offset = r.nextBeginOffset;
      }
    } catch (e) {
      error = errorText(e);
    }
    if (!tail.running) return;
    if (batch.length > 0 || (error !== null && error !== tail.lastError)) {
      batch.sort((a, b) => a.storeTimestamp - b.storeTimestamp);
      tail.session.emit('playground:tail', { tailId: tail.id, messages: batch, error });
    }
    tail.lastError = error;
  }
}
