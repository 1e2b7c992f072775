/**
 * Store checkpoint: how far each structure is known to be on disk. Upstream:
 * `store/.../StoreCheckpoint.java` (a mapped page of longs, no checksum). Ours carries a CRC and
 * is replaced atomically (temp file + fsync + rename + directory fsync), so a torn or damaged
 * checkpoint reads as "absent" and recovery falls back to scanning everything.
 *
 * Layout (big-endian, 60 bytes):
 *    0  magic                      i32  0x4D514350 ("MQCP")
 *    4  version                    i32  1
 *    8  physicMsgTimestamp         i64  store time of the last flushed commitlog record
 *   16  commitLogFlushedOffset     i64  commitlog bytes [min, this) are fsynced
 *   24  consumeQueueFlushedOffset  i64  consume-queue entries for records below this are fsynced
 *   32  indexFlushedOffset         i64  index entries for records below this are fsynced
 *   40  logicsMsgTimestamp         i64
 *   48  indexMsgTimestamp          i64
 *   56  crc32(bytes 0..55)         u32
 */
import path from 'node:path';
import zlib from 'node:zlib';
import { nodeFileIO, replaceFileSync, writeFullySync, type FileIO } from './io/file-io.js';
import { readInt64, writeInt64 } from './message-codec.js';

const CHECKPOINT_MAGIC = 0x4d514350;
const CHECKPOINT_VERSION = 1;
const CHECKPOINT_SIZE = 60;

export interface CheckpointData {
  physicMsgTimestamp: number;
  commitLogFlushedOffset: number;
  consumeQueueFlushedOffset: number;
  indexFlushedOffset: number;
  logicsMsgTimestamp: number;
  indexMsgTimestamp: number;
}

export function encodeCheckpoint(data: CheckpointData): Buffer {
  const b = Buffer.alloc(CHECKPOINT_SIZE);
  b.writeInt32BE(CHECKPOINT_MAGIC, 0);
  b.writeInt32BE(CHECKPOINT_VERSION, 4);
  writeInt64(b, data.physicMsgTimestamp, 8);
  writeInt64(b, data.commitLogFlushedOffset, 16);
  writeInt64(b, data.consumeQueueFlushedOffset, 24);
  writeInt64(b, data.indexFlushedOffset, 32);
  writeInt64(b, data.logicsMsgTimestamp, 40);
  writeInt64(b, data.indexMsgTimestamp, 48);
  b.writeUInt32BE(zlib.crc32(b.subarray(0, 56)), 56);
  return b;
}

export function decodeCheckpoint(b: Buffer): { data: CheckpointData | null; problem?: string } {
  if (b.length !== CHECKPOINT_SIZE) return { data: null, problem: `checkpoint is ${b.length} bytes, expected ${CHECKPOINT_SIZE}` };
  if (b.readInt32BE(0) !== CHECKPOINT_MAGIC || b.readInt32BE(4) !== CHECKPOINT_VERSION) return { data: null, problem: 'checkpoint magic/version mismatch' };
  if (b.readUInt32BE(56) !== zlib.crc32(b.subarray(0, 56))) return { data: null, problem: 'checkpoint CRC mismatch' };
  return {
    data: {
      physicMsgTimestamp: readInt64(b, 8),
      commitLogFlushedOffset: readInt64(b, 16),
      consumeQueueFlushedOffset: readInt64(b, 24),
      indexFlushedOffset: readInt64(b, 32),
      logicsMsgTimestamp: readInt64(b, 40),
      indexMsgTimestamp: readInt64(b, 48),
    },
  };
}

export class StoreCheckpoint {
  private readonly tempPath: string;
  /** Async writes share one temp file, so they run one at a time. */
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly filePath: string, private readonly io: FileIO = nodeFileIO) {
    this.tempPath = `${filePath}.tmp`;
  }

  /** Missing, short or damaged → data null with the reason. */
  load(): { data: CheckpointData | null; problem?: string } {
    let b: Buffer;
    try {
      b = this.io.readFileSync(this.filePath);
    } catch (e) {
      return { data: null, problem: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no checkpoint' : String(e) };
    }
    return decodeCheckpoint(b);
  }

  writeSync(data: CheckpointData): void {
    replaceFileSync(this.io, this.filePath, encodeCheckpoint(data), this.tempPath);
  }

  /** Same as writeSync with the fsyncs on the thread pool (60 bytes: the write itself is inline). */
  write(data: CheckpointData): Promise<void> {
    const run = async (): Promise<void> => {
      const fd = this.io.openSync(this.tempPath, 'w');
      try {
        const b = encodeCheckpoint(data);
        writeFullySync(this.io, fd, b, 0, b.length, 0);
        await this.io.fdatasync(fd);
      } finally {
        this.io.closeSync(fd);
      }
      this.io.renameSync(this.tempPath, this.filePath);
      await this.io.fsyncDir(path.dirname(this.filePath));
    };
    const next = this.chain.then(run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Resolves once queued async writes have finished. */
  async settle(): Promise<void> {
    await this.chain;
  }
}
