import { describe, expect, it } from 'vitest';
import {
  decodeFrameContent, encodeCommand, encodeCommandBinary, FrameDecoder, FrameError,
} from '../../../src-main/remoting/frame-codec.js';
import type { RemotingCommand } from '../../../src-main/remoting/remoting-command.js';

const sample: RemotingCommand = {
  code: 310,
  language: 'JAVA',
  version: 409,
  opaque: 42,
  flag: 0,
  remark: 'héllo 世界',
  extFields: { a: 'TopicTest', b: '4', k: '' },
  body: Buffer.from([0, 1, 2, 255, 254]),
};

/** A frame with a JSON header given as text: length, serialize type 0 | header length, header, body. */
function jsonFrame(header: string, body = Buffer.alloc(0), serializeType = 0): Buffer {
  const h = Buffer.from(header, 'utf8');
  const frame = Buffer.alloc(8 + h.length + body.length);
  frame.writeInt32BE(4 + h.length + body.length, 0);
  frame.writeInt32BE(((serializeType & 0xff) << 24) | h.length, 4);
  h.copy(frame, 8);
  body.copy(frame, 8 + h.length);
  return frame;
}

const decodeOne = (frame: Buffer, max?: number): RemotingCommand[] => new FrameDecoder(max).push(frame);

describe('frame codec', () => {
  it('round-trips a command with a JSON header', () => {
    const frame = encodeCommand(sample);
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    expect(frame.readUInt8(4)).toBe(0);
    const header = JSON.parse(frame.subarray(8, 8 + (frame.readInt32BE(4) & 0xffffff)).toString('utf8')) as Record<string, unknown>;
    expect(header.serializeTypeCurrentRPC).toBe('JSON');
    const [cmd] = decodeOne(frame);
    expect(cmd).toEqual(sample);
  });

  it('round-trips a command with a ROCKETMQ binary header', () => {
    const cmd = { ...sample, language: 'NODE_JS', flag: 3, extFields: { a: 'TopicTest', b: '4' } };
    const frame = encodeCommandBinary(cmd);
    expect(frame.readUInt8(4)).toBe(1);
    expect(decodeOne(frame)).toEqual([cmd]);
    // Without remark, extFields and body.
    const bare: RemotingCommand = { code: 0, language: 'JAVA', version: 0, opaque: -5, flag: 1 };
    expect(decodeOne(encodeCommandBinary(bare))).toEqual([bare]);
  });

  it("decodes ali-ons' worked frame from the reference to code 217 with namespace/key", () => {
    const json = '{"code":217,"language":"JAVA","opaque":1,"flag":0,"version":121,"extFields":{"namespace":"PROJECT_CONFIG","key":"192.168.1.103"}}';
    const frame = Buffer.concat([Buffer.from('0000008500000081', 'hex'), Buffer.from(json)]);
    expect(frame.length).toBe(4 + 0x85);
    const [cmd] = decodeOne(frame);
    expect(cmd).toEqual({
      code: 217, language: 'JAVA', version: 121, opaque: 1, flag: 0,
      extFields: { namespace: 'PROJECT_CONFIG', key: '192.168.1.103' },
    });
    expect(cmd?.body).toBeUndefined();
  });

  it('coerces ali-ons number and boolean extFields to strings and ignores unknown header keys', () => {
    const [cmd] = decodeOne(jsonFrame('{"code":15,"opaque":3,"extFields":{"queueId":0,"k":false,"n":null},"whatever":[1]}'));
    expect(cmd?.extFields).toEqual({ queueId: '0', k: 'false' });
    expect(cmd?.version).toBe(0);
    expect(cmd?.language).toBe('JAVA');
  });

  describe('malformed frames throw FrameError', () => {
    const cases: Array<[string, Buffer, number?]> = [
      ['length below 4', Buffer.from('0000000300000000', 'hex')],
      ['length 0', Buffer.from('00000000', 'hex')],
      ['negative length', Buffer.from('ffffffff00000000', 'hex')],
      ['length over the limit', (() => { const b = Buffer.alloc(8); b.writeInt32BE(2000, 0); return b; })(), 1024],
      ['length over the default 16 MiB limit', (() => { const b = Buffer.alloc(8); b.writeInt32BE(16 * 1024 * 1024 + 1, 0); return b; })()],
      ['header length beyond the frame', (() => { const b = Buffer.alloc(12); b.writeInt32BE(8, 0); b.writeInt32BE(100, 4); return b; })()],
      ['header that is not JSON', jsonFrame('{"code":1,')],
      ['JSON array header', jsonFrame('[1,2]')],
      ['JSON number header', jsonFrame('42')],
      ['JSON null header', jsonFrame('null')],
      ['header without code', jsonFrame('{"opaque":1}')],
      ['non-integer code', jsonFrame('{"code":"abc"}')],
      ['extFields not an object', jsonFrame('{"code":1,"extFields":[1]}')],
      ['unknown serialize type', jsonFrame('{"code":1}', Buffer.alloc(0), 2)],
    ];
    for (const [name, frame, max] of cases) {
      it(name, () => {
        expect(() => decodeOne(frame, max)).toThrow(FrameError);
      });
    }

    it('truncated binary headers', () => {
      const full = encodeCommandBinary({ ...sample, body: undefined });
      const headerLength = full.readInt32BE(4) & 0xffffff;
      const header = full.subarray(8, 8 + headerLength);
      // Every proper prefix of the header, as the whole frame content, must fail cleanly.
      for (let cut = 0; cut < header.length; cut++) {
        const content = Buffer.alloc(4 + cut);
        content.writeInt32BE((1 << 24) | cut, 0);
        header.copy(content, 4, 0, cut);
        expect(() => decodeFrameContent(content), `cut at ${cut}`).toThrow(FrameError);
      }
      // A remark length pointing past the header.
      const bad = Buffer.from(header);
      bad.writeInt32BE(10_000, 13);
      const content = Buffer.concat([Buffer.from([1, 0, 0, 0]), bad]);
      content.writeInt32BE((1 << 24) | bad.length, 0);
      expect(() => decodeFrameContent(content)).toThrow(FrameError);
    });
  });

  it('decodes frames fed one byte at a time', () => {
    const cmds: RemotingCommand[] = [
      sample,
      { code: 0, language: 'JAVA', version: 121, opaque: 7, flag: 1 },
      { ...sample, opaque: 43, body: Buffer.alloc(70_000, 7) },
    ];
    const stream = Buffer.concat([encodeCommand(cmds[0]!), encodeCommandBinary(cmds[1]!), encodeCommand(cmds[2]!)]);
    const decoder = new FrameDecoder();
    const out: RemotingCommand[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(cmds);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes frames split at random chunk boundaries', () => {
    const seed = Number(process.env.SEED ?? Date.now() % 100_000);
    let state = seed;
    const rand = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    const cmds = Array.from({ length: 50 }, (_, i): RemotingCommand => ({
      code: 10 + i, language: 'JAVA', version: 409, opaque: i, flag: 0,
      extFields: { i: String(i) }, body: Buffer.alloc(rand(3000), i),
    })).map((c) => (c.body!.length === 0 ? { ...c, body: undefined } : c));
    const stream = Buffer.concat(cmds.map((c, i) => (i % 2 ? encodeCommandBinary(c) : encodeCommand(c))));
    const decoder = new FrameDecoder();
    const out: RemotingCommand[] = [];
    for (let p = 0; p < stream.length;) {
      const n = 1 + rand(5000);
      out.push(...decoder.push(stream.subarray(p, p + n)));
      p += n;
    }
    expect(out, `SEED=${seed}`).toEqual(cmds);
  });
});
