import fs from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BLANK_MAGIC_CODE,
  MESSAGE_MAGIC_CODE_V1,
  MESSAGE_MAGIC_CODE_V2,
  MessageSysFlag,
  bodyCrc32,
  checkStoredRecord,
  createMessageId,
  decodeBatchBody,
  decodeMessage,
  decodeMessageId,
  decodeMessages,
  decodeProperties,
  encodeBatchBody,
  encodeHost,
  encodeMessage,
  encodeProperties,
  javaStringHashCode,
  readInt64,
  storedMessageSize,
  tagsString2tagsCode,
  tryDecodeMessage,
  uncompressedBody,
  writeBlank,
  writeInt64,
  type BatchItem,
  type EncodableMessage,
} from '../../../../src-main/broker/store/message-codec.js';
import { sampleMessage } from './sample-message.js';

/*
 * ali-ons test fixtures (ali-sdk/ali-ons, MIT, test/fixtures/ at v3.12.2), byte for byte; the
 * same files are kept in ../shared/reference/fixtures/ali-ons/ with a README of their decoded
 * values. Embedded so the suite runs from a clean clone.
 */
const FIXTURES = {
  'message.bin':
    '00000084daa320a755bdf8fc000000000000000000000000000001140000006500e59f3e000000000000014fefa25a930a3e3c520000d339' +
    '0000014fefa25ad50ada91a6000029cc000000000000000000000000000000167b22726f6f6d223a2231222c226d7367223a2231227d0954' +
    '6f70696354657374000a54414753015461674102000000008f0b000000000000ffffffffffffffff68538002010000005860800201000000' +
    '2ef06bd200000000b888800201000000688b80020100000056112b2204000000ffffffff0000000000000400fffffffff05e800201000000' +
    'ffffffff0100000090b1d50001000000800b0000320000000100000000000000ffffffff00000000',
  'message_compress.bin':
    '0000007ddaa320a75fde743c00000000000000000000000000000119000000661a586d98000000010000014fefdd8ba30a13d7100000d236' +
    '0000014fefdd8bf40ada91a6000029cc00000000000000000000000000000017789cf348cdc9c957f04d2d490c5450545404002888047009' +
    '546f70696354657374000a5441475301546167410200000001000000010000000000000000000000c8078003010000003813800301000000' +
    '04000000000000000500000000000000e80080030100000070d4d7000100000000f247000100000058138003010000000800000000000000' +
    '1063bf5fff7f00001814800301000000040000000000000038148003010000000400',
  'batch_message.bin':
    '0000007ddaa320a75fde743c00000000000000000000000000000116000000659560a2aa000000000000014fefb8eb8a0a13d7100000d0d2' +
    '0000014fefb8ebfc0ada91a6000029cc0000000000000000000000000000000f48656c6c6f204d657461512021212109546f706963546573' +
    '74000a544147530154616741020000007ddaa320a75fde743c00000000000000000000000000000117000000659560d34900000000000001' +
    '4fefb8eb830a13d7100000d0cd0000014fefb8ebfe0ada91a6000029cc0000000000000000000000000000000f48656c6c6f204d65746151' +
    '2021212109546f70696354657374000a544147530154616741020000007ddaa320a75fde743c000000000000000000000000000001180000' +
    '00659560d578000000000000014fefb8eba40a13d7100000d0d60000014fefb8ebfe0ada91a6000029cc0000000000000000000000000000' +
    '000f48656c6c6f204d657461512021212109546f70696354657374000a54414753015461674102000000000000000000fd00000001000000' +
    '903c80030100000000000000000000006c000000c1000000785d800301000000d8385a01010000000000000000000000fd000000ffffff7f' +
    '40378003010000000000810301000000e0385a01010000000000000000000000fd00000001000000c8378003010000000000000000000000' +
    'e8385a01010000000000000000000000fd0000006c650000383d800301000000000000000300000098cd5a0101000000d8365a0101000000' +
    'fa00000001000000383e8003010000000000000000000000f8000000fa000000e831800301000000f8000000f9000000f831800301000000' +
    'f8000000f90000000832800301000000f8000000f90000001832800301000000f6000000f90000002832800301000000f8000000f9000000' +
    '3832800301000000f8000000f90000004832800301000000f8000000f90000005832800301000000f8000000f90000006832800301000000' +
    'f8000000f90000007832800301000000f8000000f900',
} as const;
const fixture = (name: keyof typeof FIXTURES): Buffer => Buffer.from(FIXTURES[name], 'hex');
const SHARED_FIXTURES = new URL('../../../../../shared/reference/fixtures/ali-ons/', import.meta.url);

const sample = sampleMessage;

describe('stored message codec', () => {
  it('round-trips every field through encode and decode', () => {
    const m = sample();
    const buf = encodeMessage(m);
    expect(buf.length).toBe(storedMessageSize(11, 9, Buffer.byteLength(encodeProperties(m.properties as Record<string, string>)), 8, 8));
    expect(buf.readInt32BE(0)).toBe(buf.length);
    expect(buf.readInt32BE(4)).toBe(MESSAGE_MAGIC_CODE_V1);
    const d = decodeMessage(buf);
    expect(d).toMatchObject({
      topic: 'TopicTest',
      queueId: 3,
      flag: 7,
      sysFlag: 0,
      bornTimestamp: m.bornTimestamp,
      bornHost: '192.168.1.20:50123',
      storeTimestamp: m.storeTimestamp,
      storeHost: '127.0.0.1:10911',
      reconsumeTimes: 2,
      preparedTransactionOffset: 0,
      queueOffset: 42,
      commitLogOffset: 2 ** 40 + 17,
      bodyCRC: bodyCrc32(m.body),
      storeSize: buf.length,
      msgId: createMessageId('127.0.0.1:10911', 2 ** 40 + 17),
    });
    expect(d.body.toString()).toBe('hello world');
    expect({ ...d.properties }).toEqual(m.properties);
  });

  it('writes fixed fields at the documented offsets for IPv4 hosts', () => {
    const buf = encodeMessage(sample());
    expect(buf.readInt32BE(36)).toBe(0); // sysFlag
    expect(buf.subarray(48, 52)).toEqual(Buffer.from([192, 168, 1, 20])); // bornHost
    expect(readInt64(buf, 56)).toBe(1_700_000_000_456); // storeTimestamp
    expect(buf.subarray(64, 68)).toEqual(Buffer.from([127, 0, 0, 1])); // storeHost
    expect(buf.readInt32BE(84)).toBe(11); // body length
  });

  it('encodes IPv6 hosts with 20 bytes and sets the host flags', () => {
    const buf = encodeMessage(sample({ bornHost: '[::1]:4000', storeHost: '[fe80::1]:10911' }));
    const d = decodeMessage(buf);
    expect(d.sysFlag & MessageSysFlag.BORNHOST_V6).toBeTruthy();
    expect(d.sysFlag & MessageSysFlag.STOREHOSTADDRESS_V6).toBeTruthy();
    expect(d.bornHost).toBe('[0:0:0:0:0:0:0:1]:4000');
    expect(d.storeHost).toBe('[fe80:0:0:0:0:0:0:1]:10911');
    expect(d.msgId).toHaveLength(56);
    expect(decodeMessageId(d.msgId)).toEqual({ address: '[fe80:0:0:0:0:0:0:1]:10911', offset: 2 ** 40 + 17 });
    expect(checkStoredRecord(buf, 0, buf.length, true).kind).toBe('MESSAGE');
  });

  it('treats IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(encodeHost('::ffff:127.0.0.1:5000')).toEqual(Buffer.from('7f00000100001388', 'hex'));
  });

  it('decodes the V2 layout (2-byte topic length)', () => {
    const v1 = encodeMessage(sample({ topic: 'T2' }));
    // Rebuild as V2: same bytes with a 2-byte topic length.
    const bodyEnd = 84 + 4 + 11;
    const v2 = Buffer.concat([v1.subarray(0, bodyEnd), Buffer.from([0, 2]), v1.subarray(bodyEnd + 1)]);
    v2.writeInt32BE(v2.length, 0);
    v2.writeInt32BE(MESSAGE_MAGIC_CODE_V2, 4);
    const d = decodeMessage(v2);
    expect(d.topic).toBe('T2');
    expect(d.properties.TAGS).toBe('TagA');
    expect(checkStoredRecord(v2, 0, v2.length, true).kind).toBe('MESSAGE');
  });

  it('decodes message.bin and stops at the leftover bytes', () => {
    const msgs = decodeMessages(fixture('message.bin'));
    expect(msgs).toHaveLength(1);
    const m = msgs[0]!;
    expect(m).toMatchObject({
      topic: 'TopicTest',
      queueId: 0,
      reconsumeTimes: 0,
      sysFlag: 0,
      queueOffset: 276,
      commitLogOffset: 433806745406,
      bornHost: '10.62.60.82:54073',
      storeHost: '10.218.145.166:10700',
      storeSize: 132,
      bodyCRC: 1438513404,
      msgId: '0ADA91A6000029CC0000006500E59F3E',
      bornTimestamp: 1442834438803,
      storeTimestamp: 1442834438869,
    });
    expect(m.body.toString()).toBe('{"room":"1","msg":"1"}');
    expect({ ...m.properties }).toEqual({ TAGS: 'TagA' });
    expect(bodyCrc32(m.body)).toBe(1438513404);
  });

  it('decodes message_compress.bin field by field despite its wrong totalSize', () => {
    const msgs = decodeMessages(fixture('message_compress.bin'));
    expect(msgs).toHaveLength(1);
    const m = msgs[0]!;
    expect(m).toMatchObject({
      queueOffset: 281,
      commitLogOffset: 438528667032,
      sysFlag: 1,
      bornHost: '10.19.215.16:53814',
      storeHost: '10.218.145.166:10700',
      msgId: '0ADA91A6000029CC000000661A586D98',
      topic: 'TopicTest',
    });
    expect(m.body).toHaveLength(23);
    expect(m.body.subarray(0, 2)).toEqual(Buffer.from([0x78, 0x9c]));
    expect(uncompressedBody(m).toString()).toBe('Hello MetaQ !!!');
    // The strict recovery check refuses it: totalSize does not match the fields.
    expect(checkStoredRecord(fixture('message_compress.bin'), 0, 258, false).kind).toBe('CORRUPT');
  });

  it('decodes the three messages of batch_message.bin', () => {
    const msgs = decodeMessages(fixture('batch_message.bin'));
    expect(msgs.map((m) => [m.queueOffset, m.commitLogOffset, m.msgId, m.bornHost, m.storeSize])).toEqual([
      [278, 436297835178, '0ADA91A6000029CC000000659560A2AA', '10.19.215.16:53458', 125],
      [279, 436297847625, '0ADA91A6000029CC000000659560D349', '10.19.215.16:53453', 125],
      [280, 436297848184, '0ADA91A6000029CC000000659560D578', '10.19.215.16:53462', 125],
    ]);
    for (const m of msgs) {
      expect(m.body.toString()).toBe('Hello MetaQ !!!');
      expect(m.properties.TAGS).toBe('TagA');
      expect(bodyCrc32(m.body)).toBe(m.bodyCRC);
      expect(checkStoredRecord(fixture('batch_message.bin'), 0, 125, true).kind).toBe('MESSAGE');
    }
  });

  it.skipIf(!fs.existsSync(SHARED_FIXTURES))('embedded fixtures equal the shared reference files', () => {
    for (const name of Object.keys(FIXTURES) as (keyof typeof FIXTURES)[]) {
      expect(fs.readFileSync(new URL(name, SHARED_FIXTURES)).equals(fixture(name))).toBe(true);
    }
  });

  it('stops robustly on zero size, unknown magic and truncation', () => {
    const one = encodeMessage(sample());
    expect(decodeMessages(Buffer.concat([one, Buffer.alloc(200)]))).toHaveLength(1);
    const badMagic = Buffer.from(one);
    badMagic.writeInt32BE(0x12345678, 4);
    expect(decodeMessages(Buffer.concat([one, badMagic]))).toHaveLength(1);
    for (let cut = 0; cut < one.length; cut += 7) {
      expect(decodeMessages(Buffer.concat([one, one.subarray(0, cut)]))).toHaveLength(1);
    }
    expect(decodeMessages(Buffer.alloc(0))).toEqual([]);
    expect(tryDecodeMessage(Buffer.alloc(10)).ok).toBe(false);
    const blank = Buffer.alloc(100);
    writeBlank(blank, 0, 100);
    expect(decodeMessages(blank)).toEqual([]);
    expect(blank.readInt32BE(4)).toBe(BLANK_MAGIC_CODE);
    expect(() => decodeMessage(badMagic)).toThrow(/magic/);
  });

  it('checks records strictly for recovery', () => {
    const buf = encodeMessage(sample());
    const ok = checkStoredRecord(buf, 0, buf.length, true);
    expect(ok.kind).toBe('MESSAGE');
    if (ok.kind === 'MESSAGE') {
      expect(ok.info).toMatchObject({ topic: 'TopicTest', queueId: 3, queueOffset: 42, physicalOffset: 2 ** 40 + 17, size: buf.length });
    }
    expect(checkStoredRecord(buf, 0, buf.length - 1, true)).toEqual({ kind: 'NEED_MORE', size: buf.length });
    const flipped = Buffer.from(buf);
    flipped.writeUInt8(flipped.readUInt8(88) ^ 0x01, 88); // first body byte
    expect(checkStoredRecord(flipped, 0, flipped.length, true)).toEqual({ kind: 'CORRUPT', reason: 'body CRC mismatch' });
    expect(checkStoredRecord(flipped, 0, flipped.length, false).kind).toBe('MESSAGE');
    expect(checkStoredRecord(Buffer.alloc(32), 0, 32, true)).toEqual({ kind: 'CORRUPT', reason: 'zeroes' });
  });
});

describe('properties string', () => {
  it('joins pairs as key 0x01 value 0x02 including the last', () => {
    expect(encodeProperties({ TAGS: 'TagA', KEYS: 'a b' })).toBe('TAGS\u0001TagA\u0002KEYS\u0001a b\u0002');
    expect(encodeProperties({})).toBe('');
  });

  it('parses, dropping empty keys or values, and tolerates a missing last separator', () => {
    expect({ ...decodeProperties('TAGS\u0001TagA\u0002KEYS\u0001a b\u0002') }).toEqual({ TAGS: 'TagA', KEYS: 'a b' });
    expect({ ...decodeProperties('\u0001\u0002A\u0001\u0002\u0001x\u0002B\u00011') }).toEqual({ B: '1' });
    expect({ ...decodeProperties('') }).toEqual({});
    expect({ ...decodeProperties('中文\u0001值\u0002') }).toEqual({ 中文: '值' });
  });

  it('treats __proto__ as plain data', () => {
    const p = decodeProperties('__proto__\u0001x\u0002');
    expect(p.__proto__).toBe('x');
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe('message ids', () => {
  it('creates the upper-case offset id from store host and offset', () => {
    expect(createMessageId('10.218.145.166:10700', 0x6500e59f3e)).toBe('0ADA91A6000029CC0000006500E59F3E');
    expect(createMessageId('127.0.0.1:10911', 0)).toBe('7F00000100002A9F0000000000000000');
  });

  it('decodes offset ids', () => {
    expect(decodeMessageId('0ADA91A6000029CC0000006500E59F3E')).toEqual({ address: '10.218.145.166:10700', offset: 433806745406 });
    expect(decodeMessageId('0ada91a6000029cc0000006500e59f3e').offset).toBe(433806745406);
    expect(() => decodeMessageId('XYZ')).toThrow();
    expect(() => decodeMessageId('0ADA91A6000029CC')).toThrow();
  });

  it('round-trips large offsets exactly', () => {
    const offset = 2 ** 53 - 1;
    expect(decodeMessageId(createMessageId('1.2.3.4:5', offset)).offset).toBe(offset);
  });
});

describe('tag hash and CRC', () => {
  it('matches Java String.hashCode', () => {
    expect(javaStringHashCode('TagA')).toBe(2598919);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648); // wraps
    expect(javaStringHashCode('\u{1F600}')).toBe(55357 * 31 + 56832); // UTF-16 code units
    expect(tagsString2tagsCode(undefined)).toBe(0);
    expect(tagsString2tagsCode('TagA')).toBe(2598919);
  });

  it('computes the body CRC as zlib crc32 & 0x7fffffff', () => {
    expect(bodyCrc32(Buffer.from('{"room":"1","msg":"1"}'))).toBe(1438513404);
    expect(bodyCrc32(Buffer.alloc(0))).toBe(0);
    const b = Buffer.from('abc');
    expect(bodyCrc32(b)).toBe(zlib.crc32(b) & 0x7fffffff);
  });

  it('reads and writes i64 through two halves exactly', () => {
    const b = Buffer.alloc(8);
    for (const v of [0, 1, -1, 2 ** 32, 2 ** 32 - 1, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1), 433806745406]) {
      writeInt64(b, v, 0);
      expect(b.readBigInt64BE(0)).toBe(BigInt(v));
      expect(readInt64(b, 0)).toBe(v);
    }
  });
});

describe('batch body', () => {
  it('round-trips and matches the Java item layout', () => {
    const items: BatchItem[] = [
      { flag: 1, body: Buffer.from('one'), properties: { KEYS: 'a' } },
      { flag: 0, body: Buffer.alloc(0), properties: {} },
      { flag: 2, body: Buffer.from('three'), properties: { TAGS: 'T', UNIQ_KEY: 'U' } },
    ];
    const buf = encodeBatchBody(items);
    expect(buf.readInt32BE(0)).toBe(22 + 3 + 'KEYS\u0001a\u0002'.length);
    const back = decodeBatchBody(buf);
    expect(back.map((i) => [i.flag, i.body.toString(), { ...i.properties }])).toEqual(items.map((i) => [i.flag, i.body.toString(), i.properties]));
  });

  it('throws on malformed batches', () => {
    const buf = encodeBatchBody([{ flag: 0, body: Buffer.from('x'), properties: { A: 'b' } }]);
    expect(() => decodeBatchBody(buf.subarray(0, buf.length - 2))).toThrow();
    expect(() => decodeBatchBody(Buffer.alloc(5))).toThrow();
    const bad = Buffer.from(buf);
    bad.writeInt32BE(1 << 30, 16);
    expect(() => decodeBatchBody(bad)).toThrow(/body length/);
    expect(decodeBatchBody(Buffer.alloc(0))).toEqual([]);
  });
});
