/**
 * The whole-record CRC (`__CRC32#` trailer): RocketMQ 5's enabledAppendPropCRC layout, verified
 * on recovery and on every read; a flipped bit anywhere in a record is caught; third-party
 * clients (ali-ons) still decode the record.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import {
  CRC32_RESERVED_LENGTH,
  PROPERTY_CRC32,
  bodyCrc32,
  checkRecordCrc,
  checkStoredRecord,
  decodeMessage,
  encodeMessage,
  encodeProperties,
  recordCrc32,
  recordTopic,
  storedMessageSize,
  verifyStoredRecord,
  type EncodableMessage,
} from '../../../../src-main/broker/store/message-codec.js';
import { sampleMessage } from './sample-message.js';

const require = createRequire(import.meta.url);

function flip(b: Buffer, index: number, mask: number): void {
  b.writeUInt8(b.readUInt8(index) ^ mask, index);
}

function sample(overrides: Partial<EncodableMessage> = {}): EncodableMessage {
  return sampleMessage({ body: Buffer.from('hello world, a body of some length'), commitLogOffset: 4096, recordCrc: true, ...overrides });
}

describe('whole-record CRC trailer', () => {
  it('ends the properties with __CRC32# 0x01 + 10 digits (least significant first) + 0x02', () => {
    const m = sample();
    const buf = encodeMessage(m);
    const props = encodeProperties(m.properties as Record<string, string>);
    expect(buf.length).toBe(storedMessageSize(m.body.length, 9, Buffer.byteLength(props) + CRC32_RESERVED_LENGTH, 8, 8));
    const trailer = buf.subarray(buf.length - CRC32_RESERVED_LENGTH);
    expect(trailer.subarray(0, 9).toString('latin1')).toBe(`${PROPERTY_CRC32}\u0001`);
    expect(trailer[19]).toBe(0x02);
    const digits = trailer.subarray(9, 19).toString('latin1');
    // MessageDecoder.createCrc32 writes crc % 10 first.
    const crc = recordCrc32(buf, 0, buf.length);
    expect(digits).toBe(String(crc).split('').reverse().join('').padEnd(10, '0'));
    expect(crc).toBe(require('node:zlib').crc32(buf.subarray(0, buf.length - 20)) & 0x7fffffff);
    expect(checkRecordCrc(buf, 0, buf.length, Buffer.byteLength(props) + 20)).toBe('OK');
    // Our own decoder shows it as a property, as RocketMQ 5 clients do.
    expect(decodeMessage(buf).properties[PROPERTY_CRC32]).toBe(digits);
  });

  it('adds the missing last separator before the trailer (needAppendLastPropertySeparator)', () => {
    const buf = encodeMessage(sample({ properties: 'TAGS\u0001x' }));
    expect(verifyStoredRecord(buf, 4096, true)).toBeNull();
    expect(decodeMessage(buf).properties.TAGS).toBe('x');
  });

  it('is decoded by ali-ons (third-party client): every field, the body and the user properties intact', () => {
    const ByteBuffer = require('byte') as { wrap(b: Buffer): unknown };
    const decoder = require('ali-ons/lib/message/message_decoder.js') as { decodes(bb: unknown): Array<Record<string, unknown>> };
    const a = encodeMessage(sample());
    const b = encodeMessage(sample({ body: Buffer.alloc(3000, 7), queueOffset: 43, commitLogOffset: 4096 + a.length, properties: {} }));
    const msgs = decoder.decodes(ByteBuffer.wrap(Buffer.concat([a, b])));
    expect(msgs).toHaveLength(2);
    const [m0, m1] = msgs as [Record<string, unknown>, Record<string, unknown>];
    expect(m0.topic).toBe('TopicTest');
    expect(m0.queueId).toBe(3);
    expect(m0.queueOffset).toBe(42);
    expect(m0.commitLogOffset).toBe(4096);
    expect((m0.body as Buffer).toString()).toBe('hello world, a body of some length');
    expect(m0.bodyCRC).toBe(bodyCrc32(Buffer.from('hello world, a body of some length')));
    const p0 = m0.properties as Record<string, string>;
    expect(p0.TAGS).toBe('TagA');
    expect(p0.KEYS).toBe('k1 k2');
    expect(p0.UNIQ_KEY).toBe('0A0B0C0D00002A9F0000000000000001');
    expect(p0[PROPERTY_CRC32]).toMatch(/^\d{10}$/);
    expect(m0.storeSize).toBe(a.length);
    expect(m1.queueOffset).toBe(43);
    expect((m1.body as Buffer).equals(Buffer.alloc(3000, 7))).toBe(true);
    // ali-ons maps the empty item after the last 0x02 to key '' for any RocketMQ properties string.
    expect(Object.keys(m1.properties as object).filter((k) => k !== 'TAGS' && k !== '')).toEqual([PROPERTY_CRC32]);
  });

  it('catches every single-bit flip anywhere in a record, on the read path and in recovery', () => {
    for (const m of [sample(), sample({ bornHost: '[::1]:4000', storeHost: '[fe80::1]:10911' }), sample({ properties: {}, body: Buffer.alloc(0) })]) {
      const good = encodeMessage(m);
      expect(verifyStoredRecord(good, 4096, true)).toBeNull();
      expect(checkStoredRecord(good, 0, good.length, true, true).kind).toBe('MESSAGE');
      let caught = 0;
      for (let bit = 0; bit < good.length * 8; bit++) {
        const bad = Buffer.from(good);
        flip(bad, bit >> 3, 1 << (bit & 7));
        const read = verifyStoredRecord(bad, 4096, true);
        const rec = checkStoredRecord(bad, 0, bad.length, true, true);
        expect(read, `bit ${bit}`).not.toBeNull();
        expect(rec.kind === 'MESSAGE', `bit ${bit}`).toBe(false);
        caught++;
      }
      expect(caught).toBe(good.length * 8);
    }
  });

  it('a body-only CRC misses flips outside the body; the trailer does not', () => {
    const good = encodeMessage(sample());
    const bad = Buffer.from(good);
    flip(bad, 12 + 3, 0x01); // queueId 3 → 2
    expect(checkStoredRecord(bad, 0, bad.length, true, false).kind).toBe('CORRUPT'); // trailer present: checked
    const legacy = encodeMessage(sample({ recordCrc: false }));
    const legacyBad = Buffer.from(legacy);
    flip(legacyBad, 12 + 3, 0x01);
    expect(checkStoredRecord(legacyBad, 0, legacyBad.length, true, false).kind).toBe('MESSAGE'); // what RocketMQ 4 sees
    expect(checkStoredRecord(legacyBad, 0, legacyBad.length, true, true)).toEqual({ kind: 'CORRUPT', reason: 'no record CRC (__CRC32#)' });
  });

  it('rejects a record read at the wrong offset or with the wrong length', () => {
    const good = encodeMessage(sample());
    expect(verifyStoredRecord(good, 4097, true)).toMatch(/physicalOffset/);
    expect(verifyStoredRecord(good.subarray(0, good.length - 1), 4096, true)).toMatch(/totalSize/);
    expect(recordTopic(good)).toBe('TopicTest');
  });

  it('costs about one CRC pass per record on the read path (printed)', () => {
    const records = Array.from({ length: 2000 }, (_, i) => encodeMessage(sample({ body: Buffer.alloc(1024, i), commitLogOffset: 4096 + i })));
    for (let i = 0; i < 200; i++) verifyStoredRecord(records[i % 2000] as Buffer, 4096 + (i % 2000), true);
    const rounds = 20;
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < records.length; i++) {
        if (verifyStoredRecord(records[i] as Buffer, 4096 + i, true) !== null) throw new Error('unexpected');
      }
    }
    const perRecordUs = ((performance.now() - t0) * 1000) / (rounds * records.length);
    console.log(`read-path verification of a 1 KiB record: ${perRecordUs.toFixed(2)} µs (${(1 / perRecordUs).toFixed(2)} M records/s on one core)`);
    expect(perRecordUs).toBeLessThan(50);
  });
});
