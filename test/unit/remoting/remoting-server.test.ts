import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { RemotingServer } from '../../../src-main/remoting/remoting-server.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import {
  RemotingConnectionError, RemotingTimeoutError, type RemotingConnection,
} from '../../../src-main/remoting/remoting-connection.js';
import { createRequest, createResponse, ONEWAY_FLAG, type RemotingCommand } from '../../../src-main/remoting/remoting-command.js';
import { encodeCommand, FrameDecoder } from '../../../src-main/remoting/frame-codec.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import type { Logger } from '../../../src-main/remoting/logger.js';

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const ECHO = 1001;
const NEVER_ANSWER = 1002;
const THROWS = 1003;
const ONEWAY_SINK = 1004;
const CALL_BACK = 1005;
const BAD_BODY = 1006;
const CLIENT_SIDE = 40;

/** A raw TCP peer that collects decoded frames, for checks the client API hides. */
class RawPeer {
  readonly received: RemotingCommand[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.received.push(...this.decoder.push(d)));
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => undefined);
  }
  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }
}

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('RemotingServer and RemotingClient', () => {
  let server: RemotingServer;
  let client: RemotingClient;
  let addr: string;
  const onewayCalls: RemotingCommand[] = [];
  const serverConnections: RemotingConnection[] = [];

  beforeEach(async () => {
    server = new RemotingServer({ port: 0, logger: silent });
    server.onConnection((c) => serverConnections.push(c));
    server.registerProcessor(ECHO, async (req) => {
      await sleep(Math.floor(Math.random() * 20));
      return createResponse(req, ResponseCode.SUCCESS, undefined, { echo: req.extFields?.n }, req.body);
    });
    server.registerProcessor(NEVER_ANSWER, () => null);
    server.registerProcessor(THROWS, () => {
      throw new Error('boom in processor');
    });
    server.registerProcessor(ONEWAY_SINK, (req) => {
      onewayCalls.push(req);
      return createResponse(req, ResponseCode.SUCCESS);
    });
    server.registerProcessor(CALL_BACK, async (req, connection) => {
      const answer = await connection.invoke(createRequest(CLIENT_SIDE, { ask: req.extFields?.q }), 2000);
      return createResponse(req, ResponseCode.SUCCESS, undefined, { clientSaid: answer.extFields?.reply });
    });
    server.registerProcessor(BAD_BODY, (req) => ({ ...createResponse(req, ResponseCode.SUCCESS), body: 'not a buffer' as unknown as Buffer }));
    await server.start();
    addr = server.address;
    client = new RemotingClient({ logger: silent });
  });

  afterEach(async () => {
    client.close();
    await server.stop();
    onewayCalls.length = 0;
    serverConnections.length = 0;
  });

  it('matches responses to requests by opaque with many in flight', async () => {
    const n = 300;
    const results = await Promise.all(Array.from({ length: n }, (_, i) =>
      client.invoke(addr, createRequest(ECHO, { n: i }, Buffer.from(`body-${i}`)), 5000)));
    results.forEach((res, i) => {
      expect(res.code).toBe(ResponseCode.SUCCESS);
      expect(res.extFields?.echo).toBe(String(i));
      expect(res.body?.toString()).toBe(`body-${i}`);
    });
  });

  it('reuses one connection for many invokes', async () => {
    for (let i = 0; i < 20; i++) await client.invoke(addr, createRequest(ECHO, { n: i }));
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.invoke(addr, createRequest(ECHO, { n: i }))));
    expect(server.connectionCount).toBe(1);
    expect(serverConnections).toHaveLength(1);
  });

  it('answers an unknown code with REQUEST_CODE_NOT_SUPPORTED and keeps the connection', async () => {
    const res = await client.invoke(addr, createRequest(9999));
    expect(res.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    expect(res.remark).toBe(' request type 9999 not supported');
    const after = await client.invoke(addr, createRequest(ECHO, { n: 'still-here' }));
    expect(after.extFields?.echo).toBe('still-here');
    expect(server.connectionCount).toBe(1);
  });

  it('never answers a oneway request, even for an unknown code or a throwing processor', async () => {
    const peer = await RawPeer.open(server.port);
    for (const code of [ONEWAY_SINK, 9999, THROWS]) {
      const oneway = createRequest(code, { x: 1 }, undefined, true);
      expect(oneway.flag & ONEWAY_FLAG).toBe(ONEWAY_FLAG);
      peer.socket.write(encodeCommand(oneway));
    }
    const normal = createRequest(ECHO, { n: 'after' });
    peer.socket.write(encodeCommand(normal));
    await waitFor(() => peer.received.length >= 1);
    await sleep(100);
    expect(peer.received).toHaveLength(1);
    expect(peer.received[0]).toMatchObject({ opaque: normal.opaque, flag: 1, extFields: { echo: 'after' } });
    expect(onewayCalls).toHaveLength(1);
    peer.socket.destroy();

    // Through the client API too.
    await client.invokeOneway(addr, createRequest(ONEWAY_SINK));
    await waitFor(() => onewayCalls.length === 2);
  });

  it('turns a processor exception into SYSTEM_ERROR', async () => {
    const res = await client.invoke(addr, createRequest(THROWS));
    expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(res.remark).toContain('boom in processor');
    expect((await client.invoke(addr, createRequest(ECHO, { n: 1 }))).code).toBe(ResponseCode.SUCCESS);
  });

  it('answers SYSTEM_ERROR when a response cannot be encoded, instead of crashing', async () => {
    const res = await client.invoke(addr, createRequest(BAD_BODY));
    expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect((await client.invoke(addr, createRequest(ECHO, { n: 1 }))).code).toBe(ResponseCode.SUCCESS);
  });

  it('drops only the connection that sends a malformed frame or a huge length', async () => {
    await client.invoke(addr, createRequest(ECHO, { n: 0 }));
    const garbage = await RawPeer.open(server.port);
    garbage.socket.write(Buffer.concat([Buffer.from('0000000800000004', 'hex'), Buffer.from('nope')]));
    const huge = await RawPeer.open(server.port);
    const h = Buffer.alloc(8);
    h.writeInt32BE(0x7fffffff, 0);
    huge.socket.write(h);
    const negative = await RawPeer.open(server.port);
    negative.socket.write(Buffer.from('ffffff00', 'hex'));
    await waitFor(() => garbage.closed && huge.closed && negative.closed);

    const res = await client.invoke(addr, createRequest(ECHO, { n: 'alive' }));
    expect(res.extFields?.echo).toBe('alive');
    const fresh = new RemotingClient({ logger: silent });
    try {
      expect((await fresh.invoke(addr, createRequest(ECHO, { n: 'new' }))).extFields?.echo).toBe('new');
    } finally {
      fresh.close();
    }
    await waitFor(() => server.connectionCount === 2);
  });

  it('drops a response whose opaque matches nothing and keeps serving', async () => {
    const peer = await RawPeer.open(server.port);
    peer.socket.write(encodeCommand({ ...createResponse(createRequest(0), 0), opaque: 123456 }));
    const req = createRequest(ECHO, { n: 'x' });
    peer.socket.write(encodeCommand(req));
    await waitFor(() => peer.received.length === 1);
    expect(peer.received[0]?.opaque).toBe(req.opaque);
    peer.socket.destroy();
  });

  it('rejects an invoke that gets no answer with RemotingTimeoutError', async () => {
    const started = Date.now();
    await expect(client.invoke(addr, createRequest(NEVER_ANSWER), 150)).rejects.toBeInstanceOf(RemotingTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const conn = await client.getConnection(addr);
    expect(conn.inFlight).toBe(0);
    expect((await client.invoke(addr, createRequest(ECHO, { n: 1 }))).code).toBe(ResponseCode.SUCCESS);
  });

  it('lets the server call the client back over the same connection', async () => {
    client.registerProcessor(CLIENT_SIDE, (req) =>
      createResponse(req, ResponseCode.SUCCESS, undefined, { reply: `pong:${req.extFields?.ask}` }));
    const res = await client.invoke(addr, createRequest(CALL_BACK, { q: 'ping' }));
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(res.extFields?.clientSaid).toBe('pong:ping');
    expect(server.connectionCount).toBe(1);

    // Server → client request with no client processor: the client answers REQUEST_CODE_NOT_SUPPORTED.
    const conn = serverConnections[0]!;
    const unsupported = await conn.invoke(createRequest(41), 2000);
    expect(unsupported.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
  });

  it('rejects pending invokes when the server stops', async () => {
    const pending = client.invoke(addr, createRequest(NEVER_ANSWER), 5000);
    await waitFor(() => server.connectionCount === 1);
    await server.stop();
    await expect(pending).rejects.toBeInstanceOf(RemotingConnectionError);
    server = new RemotingServer({ port: 0, logger: silent });
    await server.start();
  });

  it('fails fast to connect to a closed port', async () => {
    await expect(client.invoke('127.0.0.1:1', createRequest(ECHO), 1000)).rejects.toBeInstanceOf(RemotingConnectionError);
    await expect(client.invoke('not-an-address', createRequest(ECHO), 1000)).rejects.toBeInstanceOf(RemotingConnectionError);
  });
});
