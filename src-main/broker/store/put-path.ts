/**
 * The put path. Upstream: `DefaultMessageStore#putMessage(s)`, `CommitLog#asyncPutMessage(s)`.
 *
 * Per event-loop turn: every put encodes its record into the commitlog's pending buffer and gets
 * its queue offset at once (in call order); one setImmediate "tick" then writes all of them with
 * one write, dispatches them to consume queues and the index (dispatcher.ts, from the metadata of
 * the records just written), tells arrival listeners, and settles the puts: ASYNC after the write
 * (page cache survives a process crash), SYNC after the group-commit fsync that covers them
 * (flush/group-commit.service.ts). A failed write is cut back and fails exactly the puts it held,
 * giving back their queue offsets.
 *
 * Every record gets a whole-record CRC (the `__CRC32#` trailer, see message-codec.ts), so a
 * flipped bit in a header field, host, topic or property is caught, not only in the body.
 */
import { createLogger } from '../../remoting/logger.js';
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import { takesQueueSlot, type Dispatcher, type DispatchRequest } from './dispatcher.js';
import type { GroupCommitService } from './flush/group-commit.service.js';
import {
  MAX_PROPERTIES_LENGTH,
  MAX_TOPIC_LENGTH_V1,
  PROPERTY_CRC32,
  PROPERTY_KEYS,
  PROPERTY_UNIQ_KEY,
  bodyCrc32,
  encodeHost,
  encodeProperties,
  messageIdPrefix,
  offsetHex,
  recordCrcExtraLength,
  storedMessageSize,
} from './message-codec.js';
import {
  errorStatus,
  type MessageToStore,
  type PendingPut,
  type PutMessageResult,
  type ResolvedStoreConfig,
  type StoreLifecycle,
} from './store-types.js';

const log = createLogger('store');

/** Write pending bytes early when a burst grows this big. */
const PENDING_WRITE_THRESHOLD = 4 * 1024 * 1024;

/** One record appended and not yet settled. */
export interface PendingRecord extends DispatchRequest {
  put: PendingPut;
}

interface PreparedMessage {
  msg: MessageToStore;
  topicBytes: Buffer;
  properties: string;
  bornHostBytes: Buffer;
  size: number;
}

export interface PutParts {
  lifecycle: StoreLifecycle;
  config: Pick<ResolvedStoreConfig, 'flushMode' | 'maxMessageSize' | 'storeHost'>;
  commitLog: CommitLog;
  queues: ConsumeQueueTable;
  dispatcher: Dispatcher;
  groupCommit: GroupCommitService;
}

/** Why a topic name cannot be stored (it names a consume-queue directory), or null. */
export function topicProblem(topic: unknown): string | null {
  if (typeof topic !== 'string' || topic.length === 0) return 'topic is empty';
  if (topic === '.' || topic === '..' || /[/\\\u0000]/.test(topic)) return `topic ${JSON.stringify(topic)} is not a valid file name`;
  if (process.platform === 'win32' && /[<>:"|?*]/.test(topic)) return `topic ${JSON.stringify(topic)} is not a valid Windows file name`;
  return null;
}

export class PutPath {
  /** Messages put since open. */
  messageCount = 0;
  /** Store time of the last record written. */
  lastStoreTimestamp = 0;
  private unwritten: PendingRecord[] = [];
  private undispatched: PendingRecord[] = [];
  private unsettled: PendingPut[] = [];
  private tickScheduled = false;
  private readonly storeHostBytes: Buffer;
  private readonly msgIdPrefix: string;
  private readonly topicBytes = new Map<string, Buffer>();

  constructor(private readonly parts: PutParts) {
    this.storeHostBytes = encodeHost(parts.config.storeHost);
    this.msgIdPrefix = messageIdPrefix(parts.config.storeHost);
  }

  putMessage(msg: MessageToStore): Promise<PutMessageResult> {
    return this.put([msg], false);
  }

  /** A batch: stored contiguously in one segment, consecutive queue offsets, all-or-nothing. */
  putMessages(msgs: MessageToStore[]): Promise<PutMessageResult> {
    return this.put(msgs, true);
  }

  /** One message, or a batch (its msgIds joined with ','): checked, appended and settled together. */
  private put(msgs: MessageToStore[], batch: boolean): Promise<PutMessageResult> {
    const refused = this.refusal();
    if (refused) return Promise.resolve(refused);
    if (msgs.length === 0) return Promise.resolve({ status: 'MESSAGE_ILLEGAL', error: 'empty batch' });
    try {
      const prepared: PreparedMessage[] = [];
      let total = 0;
      for (const m of msgs) {
        const p = this.prepare(m);
        if ('status' in p) return Promise.resolve(p);
        prepared.push(p);
        total += p.size;
      }
      const noRoom = this.makeRoom(total);
      if (noRoom) return Promise.resolve(noRoom);
      return new Promise<PutMessageResult>((resolve) => {
        const put = this.newPut(resolve, (msgs[0] as MessageToStore).properties);
        const storeTimestamp = Date.now();
        const records: PendingRecord[] = [];
        try {
          for (const p of prepared) records.push(this.appendPrepared(p, storeTimestamp, put));
        } catch (e) {
          put.failed = errorStatus(e);
          resolve(put.failed);
          return;
        }
        const first = records[0] as PendingRecord;
        const last = records[records.length - 1] as PendingRecord;
        const msgIds = records.map((r) => this.msgIdPrefix + offsetHex(r.physicalOffset));
        put.result = {
          status: 'PUT_OK',
          msgId: msgIds.join(','),
          ...(batch ? { msgIds } : {}),
          queueOffset: first.queueOffset,
          physicalOffset: first.physicalOffset,
          storeTimestamp,
          wroteBytes: total,
        };
        put.endOffset = last.physicalOffset + last.size;
        this.scheduleTick();
      });
    } catch (e) {
      log.error(`${batch ? 'putMessages' : 'putMessage'}: ${(e as Error).stack ?? String(e)}`);
      return Promise.resolve(errorStatus(e));
    }
  }

  /** A put to settle at the next tick; SYNC puts wait for the fsync unless WAIT=false. */
  newPut(resolve: (r: PutMessageResult) => void, properties: Record<string, string> | undefined): PendingPut {
    const put: PendingPut = {
      resolve,
      result: { status: 'PUT_OK' },
      endOffset: 0,
      // WAIT=false (waitStoreMsgOK) answers before the fsync, as RocketMQ does.
      waitFlush: this.parts.config.flushMode === 'SYNC' && properties?.WAIT !== 'false',
      enqueuedAt: Date.now(),
    };
    this.unsettled.push(put);
    return put;
  }

  /** A record appended to the commitlog's pending buffer: written, dispatched and settled by the next tick. */
  enqueue(rec: PendingRecord): void {
    this.unwritten.push(rec);
    this.messageCount++;
  }

  scheduleTick(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    setImmediate(() => this.tick());
  }

  /** Writes the pending records; on failure fails their puts and gives back their queue offsets. */
  writePending(): void {
    const { commitLog, queues } = this.parts;
    if (this.unwritten.length === 0 && commitLog.pendingBytes === 0) return;
    const outcome = commitLog.writePending();
    const records = this.unwritten;
    this.unwritten = [];
    if (outcome.ok) {
      for (const r of records) this.undispatched.push(r);
      if (records.length > 0) this.lastStoreTimestamp = (records[records.length - 1] as PendingRecord).storeTimestamp;
      return;
    }
    log.error(`commitlog write of [${outcome.droppedFrom}, ${outcome.droppedTo}) failed: ${outcome.error.message}`);
    const failure = errorStatus(outcome.error);
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i] as PendingRecord;
      if (takesQueueSlot(r.sysFlag)) queues.setNextQueueOffset(r.topic, r.queueId, r.queueOffset);
      r.put.failed = failure;
      this.messageCount--;
    }
  }

  /** One turn's work: write, dispatch, notify, settle. */
  tick(): void {
    this.tickScheduled = false;
    if (this.parts.lifecycle.state === 'CLOSED') return; // abandoned (in-process kill): nothing more reaches the disk
    try {
      this.writePending();
      const written = this.undispatched;
      this.undispatched = [];
      this.parts.dispatcher.dispatchWritten(written, this.parts.commitLog.writtenOffset);
    } catch (e) {
      // Dispatch problems never fail stored messages; recovery rebuilds what is missing.
      log.error(`dispatch: ${(e as Error).stack ?? String(e)}`);
    }
    const puts = this.unsettled;
    this.unsettled = [];
    let needCommit = false;
    for (const put of puts) {
      if (put.failed) put.resolve(put.failed);
      else if (put.waitFlush) {
        this.parts.groupCommit.add(put);
        needCommit = true;
      } else put.resolve(put.result);
    }
    if (needCommit) this.parts.groupCommit.wake();
  }

  /** In-process kill: records not yet written are dropped and their puts never settle. */
  abandon(): void {
    this.unwritten = [];
    this.undispatched = [];
    this.unsettled = [];
  }

  private refusal(): PutMessageResult | null {
    const { state, replicaMode } = this.parts.lifecycle;
    if (state !== 'OPEN') return { status: 'SERVICE_NOT_AVAILABLE', error: `message store is ${state.toLowerCase()}` };
    if (replicaMode) return { status: 'SERVICE_NOT_AVAILABLE', error: 'the store is a replica (slave): it only appends what its master sends' };
    const failure = this.parts.commitLog.failure;
    if (failure) return { status: 'SERVICE_NOT_AVAILABLE', error: `message store is read-only: ${failure.message}` };
    return null;
  }

  /** Size and name checks (DefaultMessageStore#checkMessage, CommitLog encoder limits). */
  private prepare(msg: MessageToStore): PreparedMessage | PutMessageResult {
    const problem = topicProblem(msg.topic);
    if (problem) return { status: 'MESSAGE_ILLEGAL', error: problem };
    let topicBytes = this.topicBytes.get(msg.topic);
    if (!topicBytes) {
      topicBytes = Buffer.from(msg.topic, 'utf8');
      if (this.topicBytes.size >= 10_000) this.topicBytes.clear();
      this.topicBytes.set(msg.topic, topicBytes);
    }
    if (topicBytes.length > MAX_TOPIC_LENGTH_V1) return { status: 'MESSAGE_ILLEGAL', error: `topic longer than ${MAX_TOPIC_LENGTH_V1} bytes` };
    if (!Number.isInteger(msg.queueId) || msg.queueId < 0 || msg.queueId > 0x7fffffff) {
      return { status: 'MESSAGE_ILLEGAL', error: `bad queueId ${msg.queueId}` };
    }
    if (!Buffer.isBuffer(msg.body)) return { status: 'MESSAGE_ILLEGAL', error: 'body is not a buffer' };
    const maxMessageSize = this.parts.config.maxMessageSize;
    if (msg.body.length > maxMessageSize) {
      return { status: 'MESSAGE_ILLEGAL', error: `body of ${msg.body.length} bytes exceeds maxMessageSize ${maxMessageSize}` };
    }
    let props = msg.properties ?? {};
    if (props[PROPERTY_CRC32] !== undefined) {
      // A message re-put from a stored one (retry, delay, transaction) brings its old trailer: the store writes its own.
      props = { ...props };
      delete props[PROPERTY_CRC32];
    }
    const properties = encodeProperties(props);
    const propertiesLength = (properties.length === 0 ? 0 : Buffer.byteLength(properties, 'utf8')) + recordCrcExtraLength(properties);
    if (propertiesLength > MAX_PROPERTIES_LENGTH) {
      return { status: 'PROPERTIES_SIZE_EXCEEDED', error: `properties of ${propertiesLength} bytes exceed ${MAX_PROPERTIES_LENGTH}` };
    }
    const bornHostBytes = encodeHost(String(msg.bornHost ?? ''));
    const size = storedMessageSize(msg.body.length, topicBytes.length, propertiesLength, bornHostBytes.length, this.storeHostBytes.length);
    return { msg, topicBytes, properties, bornHostBytes, size };
  }

  /** Rolls to the next segment when `size` does not fit; an error result if it cannot. */
  private makeRoom(size: number): PutMessageResult | null {
    const commitLog = this.parts.commitLog;
    if (commitLog.pendingBytes >= PENDING_WRITE_THRESHOLD) this.writePending();
    const room = commitLog.roomFor(size);
    if (room === 'OK') return null;
    if (room === 'TOO_LARGE') {
      return { status: 'MESSAGE_ILLEGAL', error: `record of ${size} bytes does not fit a commitlog segment of ${commitLog.segmentSize}` };
    }
    // Records of this segment are written before its blank.
    this.writePending();
    const error = commitLog.rollSegment();
    if (error) return errorStatus(error);
    return commitLog.roomFor(size) === 'OK' ? null : { status: 'UNKNOWN_ERROR', error: 'no room after rolling the commitlog' };
  }

  private appendPrepared(p: PreparedMessage, storeTimestamp: number, put: PendingPut): PendingRecord {
    const { commitLog, queues, dispatcher } = this.parts;
    const m = p.msg;
    const toQueue = takesQueueSlot(m.sysFlag);
    const queueOffset = toQueue ? queues.nextQueueOffset(m.topic, m.queueId) : 0;
    const physicalOffset = commitLog.append(
      {
        topicBytes: p.topicBytes,
        queueId: m.queueId,
        flag: m.flag,
        body: m.body,
        properties: p.properties,
        sysFlag: m.sysFlag,
        bornTimestamp: m.bornTimestamp,
        bornHostBytes: p.bornHostBytes,
        storeTimestamp,
        storeHostBytes: this.storeHostBytes,
        reconsumeTimes: m.reconsumeTimes,
        preparedTransactionOffset: m.preparedTransactionOffset,
        queueOffset,
        bodyCRC: bodyCrc32(m.body),
        recordCrc: true,
      },
      p.size,
    );
    if (toQueue) queues.setNextQueueOffset(m.topic, m.queueId, queueOffset + 1);
    const props = m.properties ?? {};
    const rec: PendingRecord = {
      topic: m.topic,
      queueId: m.queueId,
      queueOffset,
      physicalOffset,
      size: p.size,
      tagsCode: m.tagsCode ?? dispatcher.tagsCodeOf(m.topic, props, storeTimestamp),
      storeTimestamp,
      keys: props[PROPERTY_KEYS],
      uniqKey: props[PROPERTY_UNIQ_KEY],
      sysFlag: m.sysFlag,
      put,
    };
    this.enqueue(rec);
    return rec;
  }
}
