/**
 * `record-crc.json` says from which commitlog offset every record must carry the whole-record CRC
 * trailer: 0 for a store created by this version; for an older store, its end when it was first
 * opened by this version (older records are checked by body CRC, or by their trailer if they have
 * one). Without it a flip in a trailer's name could pass a record off as an old one.
 *
 *   { "version": 1, "requiredFrom": <commitlog offset> }
 */
import { createLogger } from '../../remoting/logger.js';
import { replaceFileSync, type FileIO } from './io/file-io.js';

const log = createLogger('store');

export const RECORD_CRC_FILE = 'record-crc.json';

/** The marker's offset, or null when it is absent or damaged (recovery then decides, see store-recovery.ts). */
export function loadRecordCrcMarker(io: FileIO, filePath: string): number | null {
  let text: string;
  try {
    text = io.readFileSync(filePath).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot read ${RECORD_CRC_FILE}: ${(e as Error).message}`);
    return null;
  }
  try {
    const parsed = JSON.parse(text) as { requiredFrom?: unknown };
    if (typeof parsed.requiredFrom === 'number' && Number.isSafeInteger(parsed.requiredFrom) && parsed.requiredFrom >= 0) return parsed.requiredFrom;
  } catch {
    // reported below
  }
  log.warn(`${RECORD_CRC_FILE} is damaged; records written before this open are checked as an older store's`);
  return null;
}

export function saveRecordCrcMarker(io: FileIO, filePath: string, requiredFrom: number): void {
  replaceFileSync(io, filePath, Buffer.from(JSON.stringify({ version: 1, requiredFrom }), 'utf8'));
}
