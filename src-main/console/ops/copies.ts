/**
 * Finding the copies of a message in a group's %RETRY% and %DLQ% topics. Retry and DLQ copies keep
 * the UNIQ_KEY and KEYS and carry ORIGIN_MESSAGE_ID (reference §11.1), so the index finds them
 * (QUERY_MESSAGE by unique key, else by each key); a message with neither (ali-ons sets no UNIQ_KEY)
 * is looked for with a bounded scan from its store time, which may end early ("scan-partial").
 */
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import type { MessageExt } from '../../broker/store/message-codec.js';
import { errorText } from '../cluster-view.js';
import { pullPages, queryAcross, routeMasters, routeOrNull, type Located } from './cluster-ops.js';

const SCAN_MAX_MESSAGES = 20_000;
const SCAN_MAX_MS = 3000;

export type CopySearch = 'index' | 'scan' | 'scan-partial' | 'no-topic';

/** Ids a copy of `m` may carry as ORIGIN_MESSAGE_ID (or UNIQ_KEY). */
export function originIds(m: MessageExt): Set<string> {
  const ids = new Set<string>([m.msgId]);
  if (m.properties['UNIQ_KEY']) ids.add(m.properties['UNIQ_KEY']);
  if (m.properties['ORIGIN_MESSAGE_ID']) ids.add(m.properties['ORIGIN_MESSAGE_ID']);
  return ids;
}

export function isCopyOf(candidate: MessageExt, ids: Set<string>, uniqKey: string | undefined): boolean {
  if (uniqKey && candidate.properties['UNIQ_KEY'] === uniqKey) return true;
  const origin = candidate.properties['ORIGIN_MESSAGE_ID'];
  return origin !== undefined && ids.has(origin);
}

export async function findCopies(admin: MQAdmin, m: MessageExt, topic: string, errors: string[]): Promise<{ copies: Located[]; search: CopySearch }> {
  const route = await routeOrNull(admin, topic);
  if (!route) return { copies: [], search: 'no-topic' };
  const ids = originIds(m);
  const uniq = m.properties['UNIQ_KEY'];
  const keys = (m.properties['KEYS'] ?? '').split(' ').filter((k) => k.length > 0);
  const found = new Map<string, Located>();
  if (uniq || keys.length > 0) {
    const hits = uniq ? await queryAcross(admin, topic, uniq, true, errors, 64, route)
      : (await Promise.all(keys.slice(0, 8).map((k) => queryAcross(admin, topic, k, false, errors, 64, route)))).flat();
    for (const h of hits) if (isCopyOf(h.m, ids, uniq)) found.set(h.m.msgId, h);
    return { copies: sortCopies([...found.values()]), search: 'index' };
  }
  const deadline = Date.now() + SCAN_MAX_MS;
  let scanned = 0;
  let partial = false;
  for (const b of routeMasters(route)) {
    for (let queueId = 0; queueId < b.readQueueNums; queueId++) {
      try {
        const from = await admin.searchOffset(b.addr, topic, queueId, m.storeTimestamp);
        for await (const page of pullPages(admin, b.addr, topic, queueId, from, null)) {
          for (const c of page) if (isCopyOf(c, ids, uniq)) found.set(c.msgId, { m: c, brokerName: b.brokerName, addr: b.addr });
          scanned += page.length;
          if (scanned >= SCAN_MAX_MESSAGES || Date.now() > deadline) {
            partial = true;
            break;
          }
        }
      } catch (error) {
        errors.push(`${b.brokerName} ${topic}: ${errorText(error)}`);
        partial = true;
      }
    }
  }
  return { copies: sortCopies([...found.values()]), search: partial ? 'scan-partial' : 'scan' };
}

function sortCopies(list: Located[]): Located[] {
  return list.sort((a, b) => a.m.storeTimestamp - b.m.storeTimestamp || a.m.reconsumeTimes - b.m.reconsumeTimes);
}
