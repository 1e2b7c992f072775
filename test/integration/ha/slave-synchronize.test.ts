/**
 * SlaveSynchronize: a slave copies its master's topic configs (21), subscription groups (201),
 * consumer offsets (43) and delay offsets (45) over remoting; after a promotion the new master
 * has them, and its delay scheduler resumes where the old master was (no redelivery).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { MQAdmin } from '../../../src-main/remoting/admin/mq-admin.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { DelayOffsetStore } from '../../../src-main/broker/schedule/delay-offset-store.js';
import { tempDir } from '../../harness/temp-dir.js';
import { call, send } from '../../harness/broker-protocol.js';
import { drain, sleep, until } from './helpers.js';

const dir = tempDir('ha-slave-sync');
let cluster: EmbeddedCluster;
const client = new RemotingClient({ defaultTimeoutMs: 10_000 });

beforeAll(async () => {
  cluster = await startCluster({
    dataDir: dir.path, namesrvPort: 0, brokerGroups: ['broker-a'], slavesPerGroup: 1, failoverTimeoutMs: 0,
    brokerOverrides: { slaveSyncIntervalMs: 300, delayLevelsMs: [300, 600] },
  });
});

afterAll(async () => {
  client.close();
  await cluster?.stop();
  dir.remove();
});

describe('slave synchronize', () => {
  it('copies topics, groups, consumer and delay offsets; a promoted slave resumes delay delivery where the master was', async () => {
    const master = cluster.broker('broker-a', 0)!;
    const slave = cluster.broker('broker-a', 1)!;
    const admin = new MQAdmin(cluster.namesrvAddr);
    await admin.createTopic('SyncTopic', 3);
    await admin.upsertGroup(master.address, { groupName: 'CID_SYNC', retryMaxTimes: 5, consumeBroadcastEnable: false });
    admin.close();
    expect((await call(client, master.address, RequestCode.UPDATE_CONSUMER_OFFSET, {
      consumerGroup: 'CID_SYNC', topic: 'SyncTopic', queueId: 2, commitOffset: 42,
    })).code).toBe(0);
    // Two delayed messages (level 1: 300 ms) delivered by the master moves its level-1 cursor to 2.
    for (const id of ['dl-0', 'dl-1']) await send(client, master.address, { topic: 'DelayedSync', queueId: 0, body: `${id}|`, properties: { DELAY: '1' } });
    await until(() => master.store.getMaxOffset('DelayedSync', 0) === 2, 10_000, 'delayed delivery on the master');

    await until(() => slave.topics.get('SyncTopic')?.readQueueNums === 3
      && slave.groups.get('CID_SYNC')?.retryMaxTimes === 5
      && slave.offsets.query('CID_SYNC', 'SyncTopic', 2) === 42
      && new DelayOffsetStore(path.join(slave.config.dataDir, 'meta')).load().progress.levels['1'] === 2, 10_000, 'the slave to copy the metadata');
    const status = slave.ha.status().sync!;
    console.log(`[slave sync] copied ${status.topics} topics, ${status.groups} groups, ${status.offsetKeys} offset tables; delay levels ${JSON.stringify(slave.ha.syncedDelayOffsets)}`);

    // Switchover: the promoted node knows the group and the offsets, and does not redeliver.
    await cluster.promote('broker-a');
    const promoted = cluster.broker('broker-a', 0)!;
    expect(promoted).toBe(slave);
    expect(promoted.groups.get('CID_SYNC')?.retryMaxTimes).toBe(5);
    expect(promoted.offsets.query('CID_SYNC', 'SyncTopic', 2)).toBe(42);
    expect(new Map(promoted.schedule!.offsetTable().entries).get(1)).toBe(2);
    await sleep(1000);
    const delivered = await drain(client, promoted.address, 'DelayedSync', 1);
    expect(delivered.map((s) => s.id)).toEqual(['dl-0', 'dl-1']);
  }, 30_000);
});
