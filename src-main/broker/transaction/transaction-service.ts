/**
 * Transactional messages on one broker. RocketMQ: TransactionalMessageServiceImpl,
 * EndTransactionProcessor, TransactionalMessageCheckService (the scan is in transaction-check-service.ts).
 *
 * State, all rebuilt from the store and two persisted offsets:
 * - `halfOffset`: the half-queue offset the check scan has examined up to (every half message
 *   below it is closed, discarded, or has a later copy). Persisted as the offset of group
 *   CID_RMQ_SYS_TRANS on RMQ_SYS_TRANS_HALF_TOPIC, as RocketMQ does.
 * - `opOffset`: the op-queue offset from which ops still matter (those naming an offset at or past
 *   halfOffset); persisted as CID_RMQ_SYS_TRANS on RMQ_SYS_TRANS_OP_HALF_TOPIC. At start the ops
 *   from there on are read back, so a restart neither re-checks closed transactions nor rescans from 0.
 * - `closed`: half offsets named by ops, kept while at or past halfOffset (bounded by what the scan
 *   has not reached yet), then moved to a bounded recently-closed set used to ignore a second END
 *   for a transaction already ended (a late producer answer after a check answer).
 * - `open`: an index of open transactions (latest copy per transaction), read from the half queue
 *   in pages, for the console and so an op can name every copy of its transaction. Capped.
 *
 * END_TRANSACTION and each scan step run one at a time (`exclusive`), so an op always names the
 * copies that exist when it is written.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../remoting/logger.js';
import type { BrokerContext } from '../broker-context.js';
import { SystemTopic } from '../metadata/system-names.js';
import { MessageSysFlag, type MessageExt } from '../store/message-codec.js';
import {
  HALF_QUEUE_ID, HalfMessageBridge, OP_QUEUE_ID, TRANS_CHECK_GROUP, TxProp, checkTimesOf, decodeOpBody, transactionKey,
  type TransactionOutcome,
} from './half-message.js';

const PAGE = 32;
/** Open transactions indexed at most (the console lists these; checks do not depend on the index). */
const MAX_INDEXED = 100_000;
/** Half-queue entries indexed per catch-up call. */
const INDEX_BUDGET = 20_000;
/** Recently ended transactions remembered to ignore a repeated END_TRANSACTION. */
const RECENTLY_CLOSED_LIMIT = 100_000;
const TOTALS_FILE = 'transaction-stats.json';

export interface TransactionTotals {
  committed: number;
  rolledBack: number;
  discarded: number;
  checksSent: number;
  /** END_TRANSACTION requests for a transaction already ended, ignored. */
  duplicateEnds: number;
}

/** One open transaction, as the console lists it. */
export interface PendingTransaction {
  producerGroup: string;
  topic: string;
  queueId: number;
  tags: string | null;
  keys: string | null;
  /** UNIQ_KEY (the client's message id). */
  msgId: string | null;
  transactionId: string | null;
  /** Half-queue offset of the original half message: the transaction's identity here. */
  originalHalfOffset: number;
  /** Half-queue offset and commitlog offset of its latest copy (what END_TRANSACTION should name). */
  halfOffset: number;
  commitLogOffset: number;
  offsetMsgId: string;
  bornTimestamp: number;
  ageMs: number;
  checkTimes: number;
}

export interface PendingList {
  items: PendingTransaction[];
  /** Open transactions known (the index is capped at MAX_INDEXED). */
  total: number;
  truncated: boolean;
  totals: TransactionTotals;
  /** How far the check scan has got, and the end of the half queue. */
  halfOffset: number;
  halfMaxOffset: number;
}

interface OpenTxn {
  key: number;
  copy: MessageExt;
}

export interface EndTransactionRequest {
  producerGroup: string;
  tranStateTableOffset: number;
  commitLogOffset: number;
  commitOrRollback: number;
  fromTransactionCheck: boolean;
  msgId?: string;
}

export type EndTransactionResult =
  | { ok: true; outcome: 'COMMIT' | 'ROLLBACK' | 'IGNORED' | 'DUPLICATE' }
  | { ok: false; remark: string };

export class TransactionService {
  readonly bridge: HalfMessageBridge;
  private halfOffset = 0;
  private opReadOffset = 0;
  /** Half offset → op-queue offset of the op naming it. */
  private readonly closed = new Map<number, number>();
  private readonly recentlyClosed = new Set<number>();
  private readonly open = new Map<number, OpenTxn>();
  private indexedTo = 0;
  private indexTruncated = false;
  private chain: Promise<unknown> = Promise.resolve();
  private totalsDirty = false;
  readonly totals: TransactionTotals = { committed: 0, rolledBack: 0, discarded: 0, checksSent: 0, duplicateEnds: 0 };

  constructor(private readonly ctx: BrokerContext, private readonly metaDir: string, private readonly log: Logger) {
    this.bridge = new HalfMessageBridge(ctx.store, () => ctx.address);
  }

  /** Reads progress and the ops that still matter; call after the store and offsets are loaded. */
  load(): void {
    const half = this.ctx.offsets.query(TRANS_CHECK_GROUP, SystemTopic.TRANS_HALF, HALF_QUEUE_ID) ?? 0;
    const op = this.ctx.offsets.query(TRANS_CHECK_GROUP, SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID) ?? 0;
    this.halfOffset = Math.max(half, this.ctx.store.getMinOffset(SystemTopic.TRANS_HALF, HALF_QUEUE_ID));
    this.opReadOffset = Math.max(op, this.ctx.store.getMinOffset(SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID));
    this.indexedTo = this.halfOffset;
    this.loadTotals();
    this.absorbOps();
  }

  /** Runs fn after every earlier END / scan step has finished. */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  get checkedUpTo(): number {
    return this.halfOffset;
  }

  // ===========================================================================================
  // END_TRANSACTION

  async endTransaction(req: EndTransactionRequest): Promise<EndTransactionResult> {
    const type = req.commitOrRollback;
    if (type === MessageSysFlag.TRANSACTION_NOT_TYPE) return { ok: true, outcome: 'IGNORED' };
    if (type !== MessageSysFlag.TRANSACTION_COMMIT_TYPE && type !== MessageSysFlag.TRANSACTION_ROLLBACK_TYPE) {
      return { ok: false, remark: `commitOrRollback ${type} is neither COMMIT (8), ROLLBACK (12) nor UNKNOW (0)` };
    }
    const half = this.bridge.lookup(req.commitLogOffset);
    if (!half || half.topic !== SystemTopic.TRANS_HALF) {
      return { ok: false, remark: `Find prepared transaction message failed: no half message at commitLogOffset ${req.commitLogOffset}` };
    }
    const group = half.properties[TxProp.PGROUP];
    if (group !== undefined && group !== req.producerGroup) {
      return { ok: false, remark: `The producer group wrong: the half message belongs to ${group}, not ${req.producerGroup}` };
    }
    if (half.queueOffset !== req.tranStateTableOffset) {
      return { ok: false, remark: `The transaction state table offset wrong: the half message is at ${half.queueOffset}, not ${req.tranStateTableOffset}` };
    }
    const commit = type === MessageSysFlag.TRANSACTION_COMMIT_TYPE;
    return this.exclusive(async () => {
      const key = transactionKey(half);
      if (this.isClosed(key, half.queueOffset)) {
        this.totals.duplicateEnds++;
        this.totalsDirty = true;
        this.log.info(`END_TRANSACTION ${commit ? 'commit' : 'rollback'} for transaction at half offset ${key} ignored: already ended`);
        return { ok: true, outcome: 'DUPLICATE' } as const;
      }
      if (commit) {
        const put = await this.bridge.putCommitted(half);
        if (put.status !== 'PUT_OK' && put.status !== 'FLUSH_DISK_TIMEOUT') {
          return { ok: false, remark: `storing the committed message failed: ${put.status} ${put.error ?? ''}`.trim() };
        }
      }
      await this.close(key, [half.queueOffset], commit ? 'COMMIT' : 'ROLLBACK');
      if (commit) this.totals.committed++;
      else this.totals.rolledBack++;
      this.totalsDirty = true;
      return { ok: true, outcome: commit ? 'COMMIT' : 'ROLLBACK' } as const;
    });
  }

  // ===========================================================================================
  // Used by the check scan (inside exclusive)

  /** Closes a transaction: one op naming its original offset and every copy known, memory updated. */
  async close(key: number, alsoOffsets: number[], outcome: TransactionOutcome): Promise<void> {
    const offsets = new Set<number>([key, ...alsoOffsets]);
    const latest = this.open.get(key);
    if (latest) offsets.add(latest.copy.queueOffset);
    const list = [...offsets].sort((a, b) => a - b);
    if (outcome !== 'DISCARD') {
      const put = await this.bridge.putOp(list);
      if (put.status !== 'PUT_OK' && put.status !== 'FLUSH_DISK_TIMEOUT') {
        // Closed in memory anyway: only a restart before the scan passes it could check it again.
        this.log.error(`writing the op record for half offsets ${list.join(',')} failed: ${put.status} ${put.error ?? ''}`);
      } else {
        for (const o of list) this.closed.set(o, put.queueOffset ?? this.opReadOffset);
      }
    }
    for (const o of list) this.remember(o);
    this.open.delete(key);
  }

  isClosed(key: number, offset: number): boolean {
    return this.closed.has(offset) || this.closed.has(key) || this.recentlyClosed.has(key) || this.recentlyClosed.has(offset);
  }

  /** Reads ops written since the last read (ours and any left from before a restart). */
  absorbOps(): void {
    let offset = this.opReadOffset;
    for (;;) {
      const page = this.bridge.readPage(SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID, offset, PAGE);
      for (const op of page.messages) {
        for (const o of decodeOpBody(op.body)) {
          if (!this.closed.has(o)) this.closed.set(o, op.queueOffset);
          this.open.delete(o);
        }
      }
      if (page.next <= offset) break;
      offset = page.next;
    }
    this.opReadOffset = offset;
  }

  /** The scan has examined everything below `offset`. */
  advanceHalfOffset(offset: number): void {
    if (offset > this.halfOffset) this.halfOffset = offset;
  }

  /** Forgets closures the scan has passed and records progress (persisted with consumer offsets). */
  commitProgress(): void {
    let opFloor = this.opReadOffset;
    for (const [o, opOffset] of this.closed) {
      if (o < this.halfOffset) {
        this.closed.delete(o);
        this.remember(o);
      } else if (opOffset < opFloor) {
        opFloor = opOffset;
      }
    }
    this.ctx.offsets.commit(TRANS_CHECK_GROUP, SystemTopic.TRANS_HALF, HALF_QUEUE_ID, this.halfOffset);
    this.ctx.offsets.commit(TRANS_CHECK_GROUP, SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID, opFloor);
    if (this.totalsDirty) this.saveTotals();
  }

  /** The scan made (or saw) a copy: it is now the transaction's latest. */
  noteCopy(key: number, copy: MessageExt): void {
    const known = this.open.get(key);
    if (known) {
      if (copy.queueOffset > known.copy.queueOffset) known.copy = copy;
    } else if (this.open.size < MAX_INDEXED) {
      this.open.set(key, { key, copy });
    } else {
      this.indexTruncated = true;
    }
  }

  // ===========================================================================================
  // Console

  /** Open transactions, oldest first, and the totals. */
  listPending(limit = 200): PendingList {
    this.catchUpIndex();
    const now = Date.now();
    const all = [...this.open.values()].sort((a, b) => a.key - b.key);
    const items = all.slice(0, Math.max(0, limit)).map(({ key, copy }): PendingTransaction => {
      const p = copy.properties;
      const qid = Number(p[TxProp.REAL_QID] ?? '0');
      return {
        producerGroup: p[TxProp.PGROUP] ?? '',
        topic: p[TxProp.REAL_TOPIC] ?? '',
        queueId: Number.isSafeInteger(qid) ? qid : 0,
        tags: p.TAGS ?? null,
        keys: p[TxProp.KEYS] ?? null,
        msgId: p[TxProp.UNIQ_KEY] ?? null,
        transactionId: p[TxProp.TRANSACTION_ID] ?? p[TxProp.UNIQ_KEY] ?? null,
        originalHalfOffset: key,
        halfOffset: copy.queueOffset,
        commitLogOffset: copy.commitLogOffset,
        offsetMsgId: copy.msgId,
        bornTimestamp: copy.bornTimestamp,
        ageMs: Math.max(0, now - copy.bornTimestamp),
        checkTimes: checkTimesOf(copy),
      };
    });
    return {
      items,
      total: this.open.size,
      truncated: this.indexTruncated || all.length > items.length,
      totals: { ...this.totals },
      halfOffset: this.halfOffset,
      halfMaxOffset: this.bridge.halfMaxOffset(),
    };
  }

  /** Reads half messages not yet indexed (bounded per call) into the open index. */
  catchUpIndex(): void {
    let offset = Math.max(this.indexedTo, this.halfOffset);
    let budget = INDEX_BUDGET;
    while (budget > 0) {
      const page = this.bridge.readPage(SystemTopic.TRANS_HALF, HALF_QUEUE_ID, offset, PAGE);
      for (const m of page.messages) {
        const key = transactionKey(m);
        if (this.isClosed(key, m.queueOffset)) this.open.delete(key);
        else this.noteCopy(key, m);
      }
      budget -= Math.max(1, page.messages.length);
      if (page.next <= offset) break;
      offset = page.next;
    }
    this.indexedTo = offset;
  }

  saveTotals(): void {
    const file = path.join(this.metaDir, TOTALS_FILE);
    try {
      fs.writeFileSync(`${file}.tmp`, JSON.stringify({ version: 1, ...this.totals }));
      fs.renameSync(`${file}.tmp`, file);
      this.totalsDirty = false;
    } catch (err) {
      this.log.warn(`could not save ${TOTALS_FILE}: ${(err as Error).message}`);
    }
  }

  markTotalsDirty(): void {
    this.totalsDirty = true;
  }

  private loadTotals(): void {
    try {
      const parsed = JSON.parse(fs.readFileSync(path.join(this.metaDir, TOTALS_FILE), 'utf8')) as Partial<TransactionTotals>;
      for (const k of Object.keys(this.totals) as Array<keyof TransactionTotals>) {
        const v = parsed[k];
        if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) this.totals[k] = v;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`ignoring unreadable ${TOTALS_FILE}: ${(err as Error).message}`);
    }
  }

  private remember(offset: number): void {
    if (this.recentlyClosed.has(offset)) return;
    this.recentlyClosed.add(offset);
    if (this.recentlyClosed.size > RECENTLY_CLOSED_LIMIT) {
      this.recentlyClosed.delete(this.recentlyClosed.values().next().value as number);
    }
  }
}
