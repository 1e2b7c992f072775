/**
 * The HA wire format and epoch logic, then a corrupt stream over real TCP: a relay between slave
 * and master flips one bit of a DATA frame; the frame CRC catches it, the slave drops the link,
 * reconnects and resumes from its last good offset, and ends byte-identical to the master
 * (RocketMQ's frame has no checksum: the flipped bit would be stored).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import path from 'node:path';
import {
  HaFrameDecoder, HaFrameType, HaProtocolError, HaReportDecoder, encodeFrameHeader, encodeHandshake, encodeReport, parseHandshake,
} from '../../../src-main/broker/ha/ha-protocol.js';
import { divergencePoint } from '../../../src-main/broker/ha/ha-epochs.js';
import { NameServer } from '../../../src-main/broker/namesrv/namesrv.js';
import { BrokerNode } from '../../../src-main/broker/broker.js';
import { defaultBrokerConfig } from '../../../src-main/broker/config/broker-config.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { call, send, sendV2Header } from '../../harness/broker-protocol.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { tempDir } from '../../harness/temp-dir.js';
import { until } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('HA frames', () => {
  it('round-trips frames cut at every byte boundary', () => {
    const body = Buffer.from('0123456789abcdef'.repeat(100));
    const data = Buffer.concat([encodeFrameHeader(HaFrameType.DATA, 4096, body, 9999), body]);
    const hs = Buffer.concat(encodeHandshake({ version: 1, brokerName: 'b', masterAddr: 'm:1', epochs: [{ epoch: 1, startOffset: 0 }] }, 7));
    const hb = encodeFrameHeader(HaFrameType.HEARTBEAT, 0, Buffer.alloc(0), 10_000);
    const stream = Buffer.concat([hs, data, hb]);
    for (let cut = 1; cut < stream.length; cut += 97) {
      const d = new HaFrameDecoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(frames.map((f) => f.type)).toEqual([HaFrameType.HANDSHAKE, HaFrameType.DATA, HaFrameType.HEARTBEAT]);
      expect(parseHandshake(frames[0]!.body).epochs).toEqual([{ epoch: 1, startOffset: 0 }]);
      expect(frames[0]!.masterMaxOffset).toBe(7);
      expect(frames[1]!.phyOffset).toBe(4096);
      expect(frames[1]!.body.equals(body)).toBe(true);
      expect(frames[2]!.masterMaxOffset).toBe(10_000);
    }
  });

  it('rejects a flipped bit anywhere in a frame, header included', () => {
    const body = Buffer.from('payload'.repeat(50));
    const frame = Buffer.concat([encodeFrameHeader(HaFrameType.DATA, 123, body, 456), body]);
    let rejected = 0;
    for (let bit = 0; bit < frame.length * 8; bit += 7) {
      const bad = Buffer.from(frame);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      try {
        const frames = new HaFrameDecoder().push(bad);
        // A flip in the size field can make the frame look longer: then it never completes.
        if (frames.length === 0) rejected++;
      } catch (e) {
        expect(e).toBeInstanceOf(HaProtocolError);
        rejected++;
      }
    }
    expect(rejected).toBe(Math.ceil((frame.length * 8) / 7));
  });

  it('cuts the report stream into offsets', () => {
    const d = new HaReportDecoder();
    const bytes = Buffer.concat([encodeReport(1), encodeReport(2 ** 40), encodeReport(77)]);
    expect([...d.push(bytes.subarray(0, 5)), ...d.push(bytes.subarray(5, 20)), ...d.push(bytes.subarray(20))]).toEqual([1, 2 ** 40, 77]);
  });
});

describe('divergence point', () => {
  const e = (epoch: number, startOffset: number): { epoch: number; startOffset: number } => ({ epoch, startOffset });
  it('is the slave\'s end when it holds a prefix of the master', () => {
    expect(divergencePoint([e(1, 0)], 500, [e(1, 0)], 900)).toBe(500);
    expect(divergencePoint([], 0, [e(1, 0)], 900)).toBe(0);
  });
  it('cuts a returning old master at the promoted slave\'s epoch start', () => {
    expect(divergencePoint([e(1, 0)], 1200, [e(1, 0), e(2, 1000)], 1500)).toBe(1000);
  });
  it('cuts a slave ahead of its master in the same epoch (the master lost its tail)', () => {
    expect(divergencePoint([e(1, 0)], 1200, [e(1, 0)], 1100)).toBe(1100);
  });
  it('walks back past epochs the master never had', () => {
    expect(divergencePoint([e(1, 0), e(2, 800)], 1300, [e(1, 0), e(3, 1000)], 2000)).toBe(800);
  });
});

describe('a corrupt HA stream', () => {
  it('is detected by the frame CRC; the slave reconnects and ends byte-identical', async () => {
    const dir = tempDir('ha-crc');
    cleanups.push(() => dir.remove());
    const ns = new NameServer({ port: 0 });
    await ns.start();
    cleanups.push(() => ns.stop());
    const master = new BrokerNode(defaultBrokerConfig({
      brokerName: 'broker-c', listenPort: 0, namesrvAddrs: [ns.address], dataDir: path.join(dir.path, 'm'),
    }));
    await master.start();
    cleanups.push(() => master.stop());

    // The relay: master → slave bytes pass through; on the first connection one bit of a DATA
    // body is flipped once 64 KiB have gone by.
    let connections = 0;
    let flipped = false;
    const sockets = new Set<Socket>();
    const relay: Server = createServer((down) => {
      connections++;
      const first = connections === 1;
      const up = connect({ host: '127.0.0.1', port: master.ha.haPort });
      sockets.add(down);
      sockets.add(up);
      let seen = 0;
      up.on('data', (chunk: Buffer) => {
        if (first && !flipped && seen + chunk.length > 64 * 1024) {
          const copy = Buffer.from(chunk);
          const at = Math.max(0, 64 * 1024 - seen);
          copy[at]! ^= 0x10;
          flipped = true;
          down.write(copy);
        } else down.write(chunk);
        seen += chunk.length;
      });
      down.on('data', (chunk: Buffer) => up.write(chunk));
      const end = (): void => { up.destroy(); down.destroy(); };
      up.on('close', end);
      down.on('close', end);
      up.on('error', () => undefined);
      down.on('error', () => undefined);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); relay.close(() => r()); }));
    const relayPort = (relay.address() as { port: number }).port;

    const client = new RemotingClient({ defaultTimeoutMs: 10_000 });
    cleanups.push(() => client.close());
    const body = Buffer.alloc(2000, 'q');
    await Promise.all(Array.from({ length: 300 }, (_, i) => send(client, master.address, { topic: 'CrcTopic', queueId: i % 4, body })));

    const slave = new BrokerNode(defaultBrokerConfig({
      brokerName: 'broker-c', brokerId: 1, brokerRole: 'SLAVE', listenPort: 0, namesrvAddrs: [ns.address],
      dataDir: path.join(dir.path, 's'), haMasterAddress: `127.0.0.1:${relayPort}`,
    }));
    await slave.start();
    cleanups.push(() => slave.stop());
    await until(() => slave.store.getMaxPhyOffset() === master.store.getMaxPhyOffset() && slave.ha.status().client?.state === 'STREAMING',
      15_000, 'the slave to catch up');
    expect(flipped).toBe(true);
    expect(connections).toBeGreaterThanOrEqual(2);
    // Byte-identical logs.
    let offset = 0;
    let chunks = 0;
    for (;;) {
      const m = master.store.readReplicationChunk(offset, 256 * 1024);
      const s = slave.store.readReplicationChunk(offset, 256 * 1024);
      if (!m) {
        expect(s).toBeNull();
        break;
      }
      expect(s && s.data.equals(m.data)).toBe(true);
      offset = m.nextOffset;
      chunks++;
    }
    console.log(`[ha crc] 1 bit flipped in transit: detected, link re-made (${connections} connections), `
      + `slave byte-identical over ${offset} bytes (${chunks} chunks)`);
  }, 30_000);
});

describe('replication across commitlog segments', () => {
  it('ships segment-end blanks, and re-fetches after a cut that removed whole segments', async () => {
    const dir = tempDir('ha-segments');
    cleanups.push(() => dir.remove());
    const ns = new NameServer({ port: 0 });
    await ns.start();
    cleanups.push(() => ns.stop());
    const segment = { commitLogSegmentSize: 64 * 1024 };
    const master = new BrokerNode(defaultBrokerConfig({
      brokerName: 'broker-s', listenPort: 0, namesrvAddrs: [ns.address], dataDir: path.join(dir.path, 'm'), ...segment,
    }));
    await master.start();
    cleanups.push(() => master.stop());
    const slave = new BrokerNode(defaultBrokerConfig({
      brokerName: 'broker-s', brokerId: 1, brokerRole: 'SLAVE', listenPort: 0, namesrvAddrs: [ns.address],
      dataDir: path.join(dir.path, 's'), ...segment,
    }));
    await slave.start();
    cleanups.push(() => slave.stop());
    const client = new RemotingClient({ defaultTimeoutMs: 10_000 });
    cleanups.push(() => client.close());
    const body = Buffer.alloc(1500, 's');
    for (let i = 0; i < 400; i++) await send(client, master.address, { topic: 'SegTopic', queueId: i % 2, body });
    const caughtUp = (): boolean => slave.store.getMaxPhyOffset() === master.store.getMaxPhyOffset();
    await until(caughtUp, 15_000, 'the slave to catch up');
    const end = master.store.getMaxPhyOffset();
    expect(end).toBeGreaterThan(8 * 64 * 1024);

    // Cut the slave back into its third segment (a record boundary there), as a divergent tail would be.
    slave.ha.setReplicationPaused(true);
    let cutAt = 0;
    for (let off = 0; ;) {
      const c = master.store.readReplicationChunk(off, 1)!;
      if (off >= 2 * 64 * 1024 + 1000) {
        cutAt = off;
        break;
      }
      off = c.nextOffset;
    }
    const cut = slave.store.truncateTail(cutAt);
    expect(cut.removedSegments.length).toBeGreaterThan(4);
    expect(cut.from).toBe(cutAt);
    expect(slave.store.getMaxOffset('SegTopic', 0) + slave.store.getMaxOffset('SegTopic', 1)).toBe(400 - cut.records);
    slave.ha.setReplicationPaused(false);
    await until(caughtUp, 15_000, 'the slave to catch up again');
    for (let off = 0; ;) {
      const m = master.store.readReplicationChunk(off, 64 * 1024);
      const s = slave.store.readReplicationChunk(off, 64 * 1024);
      if (!m) break;
      expect(s && s.data.equals(m.data) && s.nextOffset === m.nextOffset).toBe(true);
      off = m.nextOffset;
    }
    expect(slave.store.getMaxOffset('SegTopic', 0)).toBe(200);
    console.log(`[ha segments] ${end} bytes over ${Math.ceil(end / 65536)} segments replicated; a cut at ${cutAt} removed `
      + `${cut.removedSegments.length} segment files and ${cut.records} records, re-fetched byte-identical`);
  }, 30_000);
});

describe('SYNC_MASTER answers', () => {
  it('FLUSH_SLAVE_TIMEOUT when the slave stops acking, SLAVE_NOT_AVAILABLE without a slave, SEND_OK with one', async () => {
    const dir = tempDir('ha-sync-codes');
    cleanups.push(() => dir.remove());
    const ns = new NameServer({ port: 0 });
    await ns.start();
    cleanups.push(() => ns.stop());
    const master = new BrokerNode(defaultBrokerConfig({
      brokerName: 'broker-y', brokerRole: 'SYNC_MASTER', listenPort: 0, namesrvAddrs: [ns.address], dataDir: path.join(dir.path, 'm'),
      haSyncTimeoutMs: 1000,
    }));
    await master.start();
    cleanups.push(() => master.stop());
    const client = new RemotingClient({ defaultTimeoutMs: 10_000 });
    cleanups.push(() => client.close());
    const code = async (): Promise<{ code: number; ms: number }> => {
      const t = Date.now();
      const r = await call(client, master.address, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic: 'SyncCodes', queueId: 0 }), Buffer.from('x'));
      return { code: r.code, ms: Date.now() - t };
    };
    expect((await code()).code).toBe(ResponseCode.SLAVE_NOT_AVAILABLE);

    // A relay that can blackhole master → slave traffic while keeping the connection up.
    let blackhole = false;
    const sockets = new Set<Socket>();
    const relay: Server = createServer((down) => {
      const up = connect({ host: '127.0.0.1', port: master.ha.haPort });
      sockets.add(down);
      sockets.add(up);
      up.on('data', (chunk: Buffer) => { if (!blackhole) down.write(chunk); });
      down.on('data', (chunk: Buffer) => up.write(chunk));
      const end = (): void => { up.destroy(); down.destroy(); };
      up.on('close', end);
      down.on('close', end);
      up.on('error', () => undefined);
      down.on('error', () => undefined);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); relay.close(() => r()); }));
    const slave = new BrokerNode(defaultBrokerConfig({
      brokerName: 'broker-y', brokerId: 1, brokerRole: 'SLAVE', listenPort: 0, namesrvAddrs: [ns.address],
      dataDir: path.join(dir.path, 's'), haMasterAddress: `127.0.0.1:${(relay.address() as { port: number }).port}`,
    }));
    await slave.start();
    cleanups.push(() => slave.stop());
    await until(() => master.ha.bestSlaveAck() >= 0, 10_000, 'the slave to connect');
    expect((await code()).code).toBe(ResponseCode.SUCCESS);
    blackhole = true;
    const timedOut = await code();
    expect(timedOut.code).toBe(ResponseCode.FLUSH_SLAVE_TIMEOUT);
    expect(timedOut.ms).toBeGreaterThanOrEqual(1000);
    expect(timedOut.ms).toBeLessThan(2500);
    blackhole = false;
    slave.ha.setReplicationPaused(true);
    slave.ha.setReplicationPaused(false);
    await until(() => slave.store.getMaxPhyOffset() === master.store.getMaxPhyOffset(), 10_000, 'the slave to catch up');
    expect((await code()).code).toBe(ResponseCode.SUCCESS);
    console.log(`[sync codes] no slave: 11 at once; slave silent: 12 after ${timedOut.ms} ms (haSyncTimeoutMs 1000); slave back: 0`);
  }, 30_000);
});
