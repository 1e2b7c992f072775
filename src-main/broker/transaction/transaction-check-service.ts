/**
 * Transaction check-back. RocketMQ: TransactionalMessageCheckService, TransactionalMessageServiceImpl#check,
 * AbstractTransactionalMessageCheckListener, Broker2Client#checkProducerTransactionState.
 *
 * Every transactionCheckIntervalMs the half queue is scanned from where the last scan stopped,
 * page by page (bounded per run):
 * - a half message whose transaction has an op (committed / rolled back) is passed over;
 * - one checked transactionCheckMax times already is stored to TRANS_CHECK_MAX_TIME_TOPIC and dropped;
 * - one stored after this scan began (a copy made by this scan) ends the scan;
 * - one younger than transactionTimeoutMs (measured from its born time, as RocketMQ does) ends the
 *   scan: later ones are younger still. With CHECK_IMMUNITY_TIME_IN_SECONDS it is immune for that
 *   long (at least the timeout) instead, and is put back at the end of the queue so the scan can go on;
 * - any other is checked: a copy with TRANSACTION_CHECK_TIMES + 1 and TRAN_PREPARED_QUEUE_OFFSET =
 *   the original half offset is appended, and CHECK_TRANSACTION_STATE (oneway) goes to one live
 *   producer connection of its PGROUP, naming the copy. The producer answers with END_TRANSACTION.
 *   With no producer online the check still counts (RocketMQ does the same).
 * Progress is committed after every run (see TransactionService).
 */
import { createRequest } from '../../remoting/remoting-command.js';
import { RequestCode } from '../../remoting/request-code.js';
import type { Logger } from '../../remoting/logger.js';
import type { BrokerContext } from '../broker-context.js';
import type { ClientChannel } from '../client/client-registry.js';
import { SystemTopic } from '../metadata/system-names.js';
import type { MessageExt } from '../store/message-codec.js';
import type { PutMessageResult } from '../store/message-store.js';
import { HALF_QUEUE_ID, TxProp, checkTimesOf, transactionKey } from './half-message.js';
import type { TransactionService } from './transaction-service.js';

const PAGE = 32;
/** Half messages examined per run at most; the next run continues. */
const SCAN_BUDGET = 20_000;

type StepOutcome = 'next' | 'stop';

const stored = (r: PutMessageResult): boolean => r.status === 'PUT_OK' || r.status === 'FLUSH_DISK_TIMEOUT';

export class TransactionCheckService {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly nextChannel = new Map<string, number>();
  private readonly lastNoProducerWarning = new Map<string, number>();

  constructor(private readonly ctx: BrokerContext, private readonly svc: TransactionService, private readonly log: Logger) {}

  start(): void {
    this.stopped = false;
    const every = Math.max(100, this.ctx.config.transactionCheckIntervalMs);
    this.timer = setInterval(() => void this.runOnce(), every);
    this.timer.unref();
  }

  /** Stops the timer, lets a run in flight finish, and commits progress (masters: slaves never scan). */
  async stop(): Promise<void> {
    const wasRunning = !this.stopped;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    if (wasRunning) await this.svc.exclusive(() => this.svc.commitProgress());
  }

  /** One scan now (a run in flight is joined, not doubled). */
  runOnce(): Promise<void> {
    this.running ??= this.scan()
      .catch((err: unknown) => this.log.error(`transaction check failed: ${(err as Error).stack ?? String(err)}`))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async scan(): Promise<void> {
    const startTime = Date.now();
    const { svc } = this;
    await svc.exclusive(() => svc.absorbOps());
    let offset = svc.checkedUpTo;
    let budget = SCAN_BUDGET;
    outer: while (budget > 0 && !this.stopped) {
      const page = svc.bridge.readPage(SystemTopic.TRANS_HALF, HALF_QUEUE_ID, offset, PAGE);
      for (const m of page.messages) {
        if (m.queueOffset < offset) continue;
        // Closed stays closed: those are passed without queueing behind END_TRANSACTION calls.
        const outcome = svc.isClosed(transactionKey(m), m.queueOffset) ? 'next' : await svc.exclusive(() => this.step(m, startTime));
        if (outcome === 'stop' || this.stopped) break outer;
        offset = m.queueOffset + 1;
        svc.advanceHalfOffset(offset);
        budget--;
      }
      if (page.next <= offset) break;
      // Holes or removed entries: nothing there to check.
      offset = page.next;
      svc.advanceHalfOffset(offset);
    }
    await svc.exclusive(() => {
      svc.commitProgress();
      svc.catchUpIndex();
    });
  }

  private async step(m: MessageExt, startTime: number): Promise<StepOutcome> {
    const { svc } = this;
    const config = this.ctx.config;
    const key = transactionKey(m);
    if (svc.isClosed(key, m.queueOffset)) return 'next';
    const checkTimes = checkTimesOf(m);
    if (checkTimes >= config.transactionCheckMax) {
      const put = await svc.bridge.putDiscarded(m);
      if (!stored(put)) {
        this.log.warn(`moving half message ${m.msgId} to ${SystemTopic.TRANS_CHECK_MAX_TIME} failed: ${put.status} ${put.error ?? ''}`);
        return 'stop';
      }
      await svc.close(key, [m.queueOffset], 'DISCARD');
      svc.totals.discarded++;
      svc.markTotalsDirty();
      this.log.info(`transaction ${m.properties[TxProp.UNIQ_KEY] ?? m.msgId} of ${m.properties[TxProp.PGROUP] ?? '?'} discarded to ${SystemTopic.TRANS_CHECK_MAX_TIME} after ${checkTimes} checks`);
      return 'next';
    }
    if (m.storeTimestamp >= startTime) return 'stop';
    const age = Date.now() - m.bornTimestamp;
    const immunityText = m.properties[TxProp.CHECK_IMMUNITY_TIME_IN_SECONDS];
    let immunity = config.transactionTimeoutMs;
    if (immunityText !== undefined) {
      const seconds = Number(immunityText);
      if (Number.isFinite(seconds)) immunity = Math.max(immunity, seconds * 1000);
    }
    if (age >= 0 && age <= immunity) {
      if (immunityText === undefined) return 'stop';
      // Immune for now: put back at the end so the scan can pass it (RocketMQ checkPrepareQueueOffset).
      const put = await svc.bridge.putBack(m, checkTimes, key);
      if (!stored(put)) return 'stop';
      svc.noteCopy(key, this.copyOf(m, put, checkTimes, key));
      return 'next';
    }
    const put = await svc.bridge.putBack(m, checkTimes + 1, key);
    if (!stored(put)) {
      this.log.warn(`re-appending half message ${m.msgId} for a check failed: ${put.status} ${put.error ?? ''}`);
      return 'stop';
    }
    const copy = this.copyOf(m, put, checkTimes + 1, key);
    svc.noteCopy(key, copy);
    this.sendCheck(copy);
    return 'next';
  }

  /** The copy as stored (read back; rebuilt from the put result if that fails). */
  private copyOf(m: MessageExt, put: PutMessageResult, checkTimes: number, key: number): MessageExt {
    const read = put.physicalOffset !== undefined ? this.svc.bridge.lookup(put.physicalOffset) : null;
    if (read) return read;
    return {
      ...m,
      queueOffset: put.queueOffset ?? m.queueOffset,
      commitLogOffset: put.physicalOffset ?? m.commitLogOffset,
      storeTimestamp: put.storeTimestamp ?? Date.now(),
      msgId: put.msgId ?? m.msgId,
      properties: { ...m.properties, [TxProp.CHECK_TIMES]: String(checkTimes), [TxProp.PREPARED_QUEUE_OFFSET]: String(key) },
    };
  }

  private sendCheck(copy: MessageExt): void {
    const p = copy.properties;
    const group = p[TxProp.PGROUP] ?? '';
    this.svc.totals.checksSent++;
    this.svc.markTotalsDirty();
    const channel = this.pickProducer(group);
    if (!channel) {
      // Once a minute per group: every scan would otherwise repeat it for every open transaction.
      const now = Date.now();
      if (now - (this.lastNoProducerWarning.get(group) ?? 0) >= 60_000) {
        this.lastNoProducerWarning.set(group, now);
        this.log.warn(`transaction ${p[TxProp.UNIQ_KEY] ?? copy.msgId}: no live producer of group ${group} to check with (the check still counts)`);
      }
      return;
    }
    const request = createRequest(RequestCode.CHECK_TRANSACTION_STATE, {
      tranStateTableOffset: copy.queueOffset,
      commitLogOffset: copy.commitLogOffset,
      msgId: p[TxProp.UNIQ_KEY],
      transactionId: p[TxProp.TRANSACTION_ID] ?? p[TxProp.UNIQ_KEY],
      offsetMsgId: copy.msgId,
      topic: p[TxProp.REAL_TOPIC],
      bname: this.ctx.config.brokerName,
    }, this.svc.bridge.checkBody(copy), true);
    channel.connection.invokeOneway(request);
  }

  /** Producer connections of the group in turn (ProducerManager#getAvailableChannel). */
  private pickProducer(group: string): ClientChannel | undefined {
    const live = [...(this.ctx.clients.producers.get(group)?.values() ?? [])].filter((c) => !c.connection.closed);
    if (live.length === 0) return undefined;
    const i = (this.nextChannel.get(group) ?? 0) % live.length;
    this.nextChannel.set(group, i + 1);
    return live[i];
  }
}
