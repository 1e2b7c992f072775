/**
 * Delay-level delivery. RocketMQ: ScheduleMessageService (one DeliverDelayedMessageTimerTask per
 * level over SCHEDULE_TOPIC_XXXX queue level−1, offsets in `delayOffset.json`).
 *
 * Each level has a cursor: the next queue offset to deliver. Entries of one level are due in
 * arrival order (store time + the level's delay), so the head decides: when its due time (the
 * tag code) has come, a copy goes to REAL_TOPIC/REAL_QID with DELAY and REAL_* removed and the
 * real tag hash, and the cursor moves on; otherwise one timer is armed for the head's due time.
 * Arrivals wake an idle level. There is no polling loop.
 *
 * Progress (the level cursors and the timer service's progress, one file: DelayOffsetStore) is
 * saved after each batch of copies is stored, and at stop after the batch in flight: a clean stop
 * delivers exactly once; a crash between storing a copy and saving repeats it (at least once).
 * Only masters deliver; a slave loads the file for GET_ALL_DELAY_OFFSET and stats.
 *
 * Also owns the exact-time service ({@link TimerMessageService}), which shares the file.
 */
import { createLogger, type Logger } from '../../remoting/logger.js';
import { NumberKeyMap } from '../../remoting/fastjson.js';
import { SystemTopic } from '../metadata/system-names.js';
import type { MessageStore } from '../store/message-store.js';
import { DelayOffsetStore, type DelayProgress } from './delay-offset-store.js';
import { MinuteCounter, PAGE_SIZE, RETRY_AFTER_FAILURE_MS, readPage, realTopicCopy, storeCopies } from './delivery.js';
import { Prop, TIMER_TOPIC, checkDelayLevels, scheduleTagsCode } from './schedule-routing.js';
import { TimerMessageService, type TimerStats } from './timer-message-service.js';

const MAX_TIMER_MS = 0x7fffffff;
/** Copies stored per level before its cursor is saved. */
const DELIVERY_BATCH = PAGE_SIZE * 2;

export interface DelayLevelStats {
  level: number;
  delayMs: number;
  /** Entries of the level's queue not yet delivered. */
  pendingCount: number;
  /** Due time of the next entry, null when none is pending. */
  nextDueTime: number | null;
  /** Store time of the oldest pending entry, null when none. */
  oldestStoreTime: number | null;
  deliveredLastMinute: number;
}

export interface ScheduleServiceOptions {
  store: MessageStore;
  delayLevelsMs: readonly number[];
  /** Directory of delay-offsets.json (the node's meta dir). */
  metaDir: string;
  logger?: Logger;
  /** Timer entries held in memory (TIMER_BUFFER_CAPACITY); small values exercise the rescans in tests. */
  timerBufferCapacity?: number;
}

interface LevelCursor {
  level: number;
  queueId: number;
  delayMs: number;
  /** Next queue offset to deliver. */
  offset: number;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  rerun: boolean;
  delivered: MinuteCounter;
}

export class ScheduleMessageService {
  readonly timer: TimerMessageService;
  private readonly store: MessageStore;
  private readonly offsets: DelayOffsetStore;
  private readonly log: Logger;
  private readonly cursors: LevelCursor[];
  private stopped = true;
  private delivering = false;
  private listening = false;

  constructor(private readonly options: ScheduleServiceOptions) {
    checkDelayLevels(options.delayLevelsMs);
    this.store = options.store;
    this.log = options.logger ?? createLogger('schedule');
    this.offsets = new DelayOffsetStore(options.metaDir);
    this.cursors = options.delayLevelsMs.map((delayMs, i) => ({
      level: i + 1, queueId: i, delayMs, offset: 0, timer: null, running: null, rerun: false, delivered: new MinuteCounter(),
    }));
    this.timer = new TimerMessageService(this.store, () => this.persist(), this.log, options.timerBufferCapacity);
  }

  /** Loads saved progress; with `deliver` (masters) starts delivering. Call after the store is open. */
  start(deliver: boolean): void {
    const loaded = this.offsets.load();
    if (loaded.problem) {
      this.log.error(`${this.offsets.file}: ${loaded.problem}; delayed messages are rescanned from the start of each queue`);
    }
    for (const c of this.cursors) {
      const saved = loaded.progress.levels[String(c.level)] ?? 0;
      c.offset = Math.max(saved, this.store.getMinOffset(SystemTopic.SCHEDULE, c.queueId));
    }
    this.timer.load(loaded.progress.timer);
    if (!deliver) return;
    this.stopped = false;
    this.delivering = true;
    if (!this.listening) {
      this.listening = true;
      this.store.onMessageArrived((topic, queueId, _queueOffset, tagsCode) => this.onArrival(topic, queueId, tagsCode));
    }
    for (const c of this.cursors) this.kick(c);
    this.timer.start();
  }

  /** Stops timers, lets batches in flight finish, saves progress. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.cursors) this.clearTimer(c);
    await Promise.all([
      ...this.cursors.map(async (c) => {
        while (c.running) await c.running;
      }),
      this.timer.stop(),
    ]);
    if (this.delivering) this.persist();
    this.delivering = false;
  }

  /** GET_ALL_DELAY_OFFSET body value: level → next offset (RocketMQ DelayOffsetSerializeWrapper.offsetTable). */
  offsetTable(): NumberKeyMap<number> {
    return new NumberKeyMap(this.cursors.map((c) => [c.level, c.offset]));
  }

  /**
   * A slave takes its master's level offsets (SlaveSynchronize#syncDelayOffset): served by
   * GET_ALL_DELAY_OFFSET and saved, so a promoted slave resumes there. Ignored while delivering
   * (a master owns its progress). Timer progress is not part of the table.
   */
  adoptOffsets(table: Record<string, number>): boolean {
    if (this.delivering) return false;
    for (const c of this.cursors) {
      const v = table[String(c.level)];
      if (Number.isSafeInteger(v) && v! >= 0) c.offset = v!;
    }
    try {
      this.offsets.save({
        version: 1,
        levels: Object.fromEntries(this.cursors.map((c) => [String(c.level), c.offset])),
        timer: this.timer.progress(),
      });
    } catch (e) {
      this.log.warn(`saving the master's delay offsets failed: ${(e as Error).message}`);
    }
    return true;
  }

  /** Per-level progress for the console's Delay page. */
  levelStats(now = Date.now()): DelayLevelStats[] {
    return this.cursors.map((c) => {
      const max = this.store.getMaxOffset(SystemTopic.SCHEDULE, c.queueId);
      const pendingCount = Math.max(0, max - c.offset);
      const storeTime = pendingCount > 0 ? this.store.getStoreTime(SystemTopic.SCHEDULE, c.queueId, c.offset) : -1;
      return {
        level: c.level,
        delayMs: c.delayMs,
        pendingCount,
        nextDueTime: storeTime >= 0 ? storeTime + c.delayMs : null,
        oldestStoreTime: storeTime >= 0 ? storeTime : null,
        deliveredLastMinute: c.delivered.lastMinute(now),
      };
    });
  }

  timerStats(now = Date.now()): TimerStats {
    return this.timer.stats(now);
  }

  private onArrival(topic: string, queueId: number, tagsCode: number): void {
    if (this.stopped) return;
    if (topic === SystemTopic.SCHEDULE) {
      const c = this.cursors[queueId];
      if (!c) return;
      // An armed timer is for an entry due no later than this one (one level is FIFO).
      if (c.running) c.rerun = true;
      else if (!c.timer) this.kick(c);
    } else if (topic === TIMER_TOPIC) {
      this.timer.onArrival(tagsCode);
    }
  }

  private kick(c: LevelCursor): void {
    if (this.stopped) return;
    if (c.running) {
      c.rerun = true;
      return;
    }
    this.clearTimer(c);
    c.running = this.runLevel(c)
      .catch((e: unknown) => {
        this.log.error(`delay level ${c.level}: ${(e as Error).stack ?? String(e)}`);
        this.arm(c, Date.now() + RETRY_AFTER_FAILURE_MS);
      })
      .finally(() => {
        c.running = null;
        if (c.rerun) {
          c.rerun = false;
          this.kick(c);
        }
      });
  }

  /** Delivers every due head entry of one level, then arms a timer for the next one. */
  private async runLevel(c: LevelCursor): Promise<void> {
    const levels = this.options.delayLevelsMs;
    while (!this.stopped) {
      const batch = [];
      let offset = c.offset;
      let waitUntil: number | null = null;
      let end = false;
      const now = Date.now();
      while (batch.length < DELIVERY_BATCH && waitUntil === null && !end) {
        const page = readPage(this.store, SystemTopic.SCHEDULE, c.queueId, offset, this.log);
        for (const m of page.messages) {
          const due = scheduleTagsCode(SystemTopic.SCHEDULE, m.properties, m.storeTimestamp, levels) ?? m.storeTimestamp;
          if (due > now) {
            waitUntil = due;
            offset = m.queueOffset;
            break;
          }
          batch.push(m);
          offset = m.queueOffset + 1;
        }
        if (waitUntil === null) {
          end = page.end || page.nextOffset <= offset && page.messages.length === 0;
          offset = Math.max(offset, page.nextOffset);
        }
      }
      if (batch.length > 0) {
        const copies = batch.map((m) => realTopicCopy(m, [Prop.DELAY]));
        const outcomes = await storeCopies(this.store, copies, `${SystemTopic.SCHEDULE}/${c.queueId}`, this.log);
        const firstRetry = outcomes.indexOf('RETRY');
        const doneCount = firstRetry < 0 ? batch.length : firstRetry;
        c.delivered.add(outcomes.slice(0, doneCount).filter((o) => o === 'DELIVERED').length);
        // On a refusal, resume at the refused entry; later copies of this batch may repeat.
        const next = firstRetry < 0 ? offset : batch[firstRetry]!.queueOffset;
        if (next !== c.offset) {
          c.offset = next;
          this.persist();
        }
        if (firstRetry >= 0) {
          this.arm(c, Date.now() + RETRY_AFTER_FAILURE_MS);
          return;
        }
        continue;
      }
      if (offset !== c.offset) {
        c.offset = offset;
        this.persist();
      }
      if (waitUntil !== null) this.arm(c, waitUntil);
      return;
    }
  }

  private persist(): void {
    if (!this.delivering) return;
    const progress: DelayProgress = {
      version: 1,
      levels: Object.fromEntries(this.cursors.map((c) => [String(c.level), c.offset])),
      timer: this.timer.progress(),
    };
    try {
      this.offsets.save(progress);
    } catch (e) {
      // The copies are stored; a crash before the next successful save repeats them (at least once).
      this.log.error(`saving ${this.offsets.file} failed: ${(e as Error).message}`);
    }
  }

  private arm(c: LevelCursor, due: number): void {
    this.clearTimer(c);
    if (this.stopped) return;
    c.timer = setTimeout(() => {
      c.timer = null;
      this.kick(c);
    }, Math.min(MAX_TIMER_MS, Math.max(0, due - Date.now())));
    c.timer.unref();
  }

  private clearTimer(c: LevelCursor): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
  }
}
