/**
 * Malformed and unusual input on raw TCP sockets, against a broker port and the NameServer port:
 * unknown codes, oversize and garbage frames, truncated frames, oneway requests, stray responses,
 * binary (ROCKETMQ) headers, pipelining and byte-by-byte delivery (reference §1, §2).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRequest, type RemotingCommand } from '../../../src-main/remoting/remoting-command.js';
import { encodeCommand, encodeCommandBinary } from '../../../src-main/remoting/frame-codec.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { RawConnection, call, num, send, sleep, startTestCluster, type TestCluster } from '../../harness/broker-protocol.js';

let t: TestCluster;
const open: RawConnection[] = [];

beforeAll(async () => {
  t = await startTestCluster('it-bad-input', { slavesPerGroup: 0 });
});

afterEach(() => {
  for (const c of open.splice(0)) c.destroy();
});

afterAll(async () => {
  await t?.stop();
});

async function raw(addr: string): Promise<RawConnection> {
  const c = await RawConnection.open(addr);
  open.push(c);
  return c;
}

/** A request each kind of server answers with SUCCESS. */
function validRequest(kind: 'broker' | 'namesrv'): RemotingCommand {
  return kind === 'broker'
    ? createRequest(RequestCode.GET_BROKER_RUNTIME_INFO)
    : createRequest(RequestCode.GET_BROKER_CLUSTER_INFO);
}

async function expectServes(c: RawConnection, kind: 'broker' | 'namesrv'): Promise<void> {
  const req = validRequest(kind);
  c.writeCommand(req);
  const res = await c.response(req.opaque);
  expect(res.code).toBe(ResponseCode.SUCCESS);
  expect(res.flag & 1).toBe(1);
}

/** A fresh connection is served (the server is alive and other connections are unaffected). */
async function expectAlive(kind: 'broker' | 'namesrv'): Promise<void> {
  await expectServes(await raw(kind === 'broker' ? t.brokerA : t.namesrv), kind);
}

function frameWithHeader(headerText: string, body = Buffer.alloc(0), serializeType = 0): Buffer {
  const header = Buffer.from(headerText, 'utf8');
  const f = Buffer.alloc(8 + header.length + body.length);
  f.writeInt32BE(4 + header.length + body.length, 0);
  f.writeInt32BE(((serializeType & 0xff) << 24) | header.length, 4);
  header.copy(f, 8);
  body.copy(f, 8 + header.length);
  return f;
}

for (const kind of ['broker', 'namesrv'] as const) {
  const addr = (): string => (kind === 'broker' ? t.brokerA : t.namesrv);

  describe(`${kind} port`, () => {
    it('answers an unknown request code with REQUEST_CODE_NOT_SUPPORTED (3) and keeps serving the connection', async () => {
      const c = await raw(addr());
      const req = createRequest(9999, { any: 'thing' }, Buffer.from('body'));
      c.writeCommand(req);
      const res = await c.response(req.opaque);
      expect(res.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
      expect(res.remark).toBe(' request type 9999 not supported');
      expect(res.opaque).toBe(req.opaque);
      expect(res.flag).toBe(1);
      await expectServes(c, kind);
      expect(c.closed).toBe(false);
    });

    it('closes a connection whose frame length exceeds 16 MiB; other connections and the server are unaffected', async () => {
      const other = await raw(addr());
      const c = await raw(addr());
      const head = Buffer.alloc(8);
      head.writeInt32BE(16 * 1024 * 1024 + 1, 0);
      head.writeInt32BE(20, 4);
      c.write(head);
      expect(await c.waitClosed()).toBe(true);
      expect(c.frames).toHaveLength(0);
      await expectServes(other, kind);
      await expectAlive(kind);
    });

    it('closes a connection that sends garbage bytes', async () => {
      const c = await raw(addr());
      c.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      expect(await c.waitClosed()).toBe(true);
      await expectAlive(kind);
    });

    it('closes a connection whose header is not JSON, not an object, or lacks the code', async () => {
      for (const header of ['this is not json', '[1,2,3]', '{"language":"JAVA","opaque":5,"flag":0}', '{"code":"ten","opaque":1}']) {
        const c = await raw(addr());
        c.write(frameWithHeader(header));
        expect(await c.waitClosed(), header).toBe(true);
      }
      await expectAlive(kind);
    });

    it('closes a connection whose header length exceeds the frame, whose length is below 4, or whose serialize type is unknown', async () => {
      const overlong = Buffer.alloc(12);
      overlong.writeInt32BE(8, 0);
      overlong.writeInt32BE(500, 4);
      const tiny = Buffer.alloc(8);
      tiny.writeInt32BE(2, 0);
      const negative = Buffer.alloc(8);
      negative.writeInt32BE(-1, 0);
      const unknownType = frameWithHeader('{"code":106,"opaque":1,"flag":0}', Buffer.alloc(0), 7);
      for (const [name, bytes] of [['overlong', overlong], ['tiny', tiny], ['negative', negative], ['type 7', unknownType]] as const) {
        const c = await raw(addr());
        c.write(bytes);
        expect(await c.waitClosed(), name).toBe(true);
      }
      await expectAlive(kind);
    });

    it('survives a truncated frame followed by the client closing', async () => {
      const c = await raw(addr());
      const full = encodeCommand(validRequest(kind));
      c.write(full.subarray(0, Math.floor(full.length / 2)));
      await sleep(50);
      c.socket.end();
      expect(await c.waitClosed()).toBe(true);
      expect(c.frames).toHaveLength(0);
      // Only a length prefix, then a reset.
      const d = await raw(addr());
      d.write(Buffer.from([0, 0]));
      await sleep(20);
      d.socket.resetAndDestroy();
      await expectAlive(kind);
    });

    it('never answers a oneway request (flag 2), valid or not', async () => {
      const c = await raw(addr());
      const unknown = createRequest(9998, undefined, undefined, true);
      const valid = validRequest(kind);
      valid.flag = 2;
      c.writeCommand(unknown);
      c.writeCommand(valid);
      const probe = validRequest(kind);
      c.writeCommand(probe);
      await c.response(probe.opaque);
      await sleep(200);
      expect(c.frames.map((f) => f.opaque)).toEqual([probe.opaque]);
    });

    it('ignores a response frame whose opaque matches nothing', async () => {
      const c = await raw(addr());
      c.writeCommand({ code: 0, language: 'JAVA', version: 121, opaque: 424242, flag: 1, remark: 'stray', extFields: { a: '1' } });
      await sleep(100);
      expect(c.closed).toBe(false);
      expect(c.frames).toHaveLength(0);
      await expectServes(c, kind);
    });

    it('reads a ROCKETMQ binary header and answers in JSON', async () => {
      const c = await raw(addr());
      const req = validRequest(kind);
      c.write(encodeCommandBinary(req));
      const res = await c.response(req.opaque);
      expect(res.code).toBe(ResponseCode.SUCCESS);
      expect(res.body!.length).toBeGreaterThan(0);
    });

    it('answers pipelined requests in one write, and a frame delivered byte by byte', async () => {
      const c = await raw(addr());
      const reqs = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? validRequest(kind) : createRequest(9000 + i)));
      c.write(Buffer.concat(reqs.map((r) => encodeCommand(r))));
      for (const r of reqs) {
        const res = await c.response(r.opaque);
        expect(res.code).toBe(r.code >= 9000 ? ResponseCode.REQUEST_CODE_NOT_SUPPORTED : ResponseCode.SUCCESS);
      }
      const slow = validRequest(kind);
      const bytes = encodeCommand(slow);
      for (let i = 0; i < bytes.length; i += 7) {
        c.write(bytes.subarray(i, i + 7));
        if (i % 70 === 0) await sleep(1);
      }
      expect((await c.response(slow.opaque)).code).toBe(ResponseCode.SUCCESS);
    });

    it('accepts numbers and booleans as extField values (ali-ons style)', async () => {
      const c = await raw(addr());
      const header = kind === 'broker'
        ? `{"code":${RequestCode.GET_MAX_OFFSET},"language":"JAVA","opaque":77,"flag":0,"version":121,"extFields":{"topic":"TBW102","queueId":0,"x":true}}`
        : `{"code":${RequestCode.GET_ROUTEINFO_BY_TOPIC},"language":"JAVA","opaque":77,"flag":0,"version":121,"extFields":{"topic":"TBW102","acceptStandardJsonOnly":false}}`;
      c.write(frameWithHeader(header));
      const res = await c.response(77);
      expect(res.code).toBe(ResponseCode.SUCCESS);
    });
  });
}

describe('oneway effects', () => {
  it('a oneway UPDATE_CONSUMER_OFFSET is applied without an answer', async () => {
    await send(t.client, t.brokerA, { topic: 'BadInputOneway', queueId: 0 });
    const c = await raw(t.brokerA);
    c.writeCommand(createRequest(RequestCode.UPDATE_CONSUMER_OFFSET,
      { consumerGroup: 'CID_ONEWAY', topic: 'BadInputOneway', queueId: 0, commitOffset: 1 }, undefined, true));
    await sleep(200);
    expect(c.frames).toHaveLength(0);
    const q = await call(t.client, t.brokerA, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'CID_ONEWAY', topic: 'BadInputOneway', queueId: 0 });
    expect(num(q, 'offset')).toBe(1);
  });

  it('a oneway PUT_KV_CONFIG on the NameServer is applied without an answer', async () => {
    const c = await raw(t.namesrv);
    c.writeCommand(createRequest(RequestCode.PUT_KV_CONFIG, { namespace: 'NS_ONEWAY', key: 'k', value: 'v' }, undefined, true));
    await sleep(200);
    expect(c.frames).toHaveLength(0);
    const get = await call(t.client, t.namesrv, RequestCode.GET_KV_CONFIG, { namespace: 'NS_ONEWAY', key: 'k' });
    expect(get.code).toBe(ResponseCode.SUCCESS);
    expect(get.extFields?.value).toBe('v');
  });
});

describe('frame size limit', () => {
  it('accepts a frame of exactly 16 MiB', async () => {
    const c = await raw(t.brokerA);
    const req = createRequest(9997);
    const headerLen = encodeCommand(req).length - 8;
    req.body = Buffer.alloc(16 * 1024 * 1024 - 4 - headerLen);
    const frame = encodeCommand(req);
    expect(frame.readInt32BE(0)).toBe(16 * 1024 * 1024);
    c.write(frame);
    const res = await c.response(req.opaque, 10_000);
    expect(res.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    expect(c.closed).toBe(false);
  });
});
