/**
 * The SYNC_MASTER + ASYNC_FLUSH hole (reliability-security.md §1.2): an OS crash takes the
 * master's unflushed tail, which its slave already holds and which was acknowledged. Simulated
 * by cutting the stopped master's commitlog file. The slave must not cut its copy to match
 * (RocketMQ 4 leaves the logs diverged; a naive "truncate to the master" would destroy
 * acknowledged messages): it refuses the link (DIVERGED, reported), and a promotion of the slave
 * keeps every acknowledged message; the old master returns as its slave and catches up.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { startCluster, type EmbeddedCluster } from '../../src-main/broker/cluster/cluster.js';
import { MQAdmin } from '../../src-main/remoting/admin/mq-admin.js';
import { RemotingClient } from '../../src-main/remoting/remoting-client.js';
import { tempDir } from '../harness/temp-dir.js';
import { History, drain, runLoad, until } from '../integration/ha/helpers.js';

const TOPIC = 'LostTailTopic';
const dir = tempDir('master-lost-tail');
let cluster: EmbeddedCluster | undefined;
const client = new RemotingClient({ defaultTimeoutMs: 10_000 });

afterAll(async () => {
  client.close();
  await cluster?.stop();
  dir.remove();
});

describe('a master that lost its acknowledged tail', () => {
  it('is not followed into the loss: the slave refuses, and promoting it keeps every acknowledged message', async () => {
    const start = (): Promise<EmbeddedCluster> => startCluster({
      dataDir: dir.path, namesrvPort: 0, brokerGroups: ['broker-a'], slavesPerGroup: 1, replicationMode: 'SYNC', failoverTimeoutMs: 0,
    });
    cluster = await start();
    const admin = new MQAdmin(cluster.namesrvAddr);
    await admin.createTopic(TOPIC, 2);
    admin.close();
    const history = new History();
    const master = cluster.broker('broker-a', 0)!;
    await runLoad({ client, addr: master.address, topic: TOPIC, queues: 2, inFlight: 16, bodyBytes: 300, prefix: 'lt', history, stop: () => false, max: 400 });
    expect(history.ok.size).toBe(400);
    // A record boundary about two thirds in: what the "OS crash" keeps.
    let cutAt = 0;
    for (let off = 0; off < master.store.getMaxPhyOffset() * 0.66;) off = cutAt = master.store.readReplicationChunk(off, 1)!.nextOffset;
    await cluster.stop();
    const segment = path.join(dir.path, 'broker-a-0', 'commitlog', '00000000000000000000');
    fs.truncateSync(segment, cutAt);

    cluster = await start();
    const slave = cluster.node('broker-a-1')!;
    await until(() => slave.ha.status().client?.state === 'DIVERGED', 10_000, 'the slave to refuse its master');
    const reason = slave.ha.status().client!.diverged!;
    expect(slave.store.getMaxPhyOffset()).toBeGreaterThan(cutAt);

    await cluster.promote('broker-a', 'broker-a-1');
    const newMaster = cluster.broker('broker-a', 0)!;
    expect(newMaster).toBe(slave);
    const returned = cluster.node('broker-a-0')!;
    await until(() => returned.store.getMaxPhyOffset() === newMaster.store.getMaxPhyOffset(), 10_000, 'the old master to catch up');
    expect(returned.ha.status().client?.truncations).toEqual([]);
    for (const node of [newMaster, returned]) {
      const ids = new Set((await drain(client, node.address, TOPIC, 2)).map((s) => s.id));
      expect([...history.ok].filter((id) => !ids.has(id))).toEqual([]);
    }
    console.log(`[lost tail] master restarted with ${cutAt} of ${slave.store.getMaxPhyOffset()} bytes; slave refused: "${reason}"; `
      + `after promoting it all ${history.ok.size} acknowledged messages are on both nodes`);
  }, 45_000);
});
