/** ACL request signing (RocketMQ AclClientRPCHook): what is signed, in which order. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { calSignature, signedContent, signRequest } from '../../../src-main/remoting/acl-signer.js';
import { createRequest } from '../../../src-main/remoting/remoting-command.js';

describe('acl signer', () => {
  it('signs the header values in key order plus AccessKey, then the body', () => {
    const content = signedContent({ topic: 'T', b: '2', a: '1' }, Buffer.from('BODY'), { accessKey: 'AK', secretKey: 'SK' });
    // Keys sorted: AccessKey, a, b, topic (upper case sorts first, as Java's TreeMap does).
    expect(content.toString()).toBe('AK12TBODY');
  });

  it('adds AccessKey and a base64 HmacSHA1 Signature; an old Signature is not signed', () => {
    const req = createRequest(17, { topic: 'T', readQueueNums: 4 }, undefined);
    req.extFields!['Signature'] = 'stale';
    signRequest(req, { accessKey: 'rocketmq2', secretKey: '12345678' });
    const expected = createHmac('sha1', '12345678').update('rocketmq24T').digest('base64');
    expect(req.extFields).toEqual({ topic: 'T', readQueueNums: '4', AccessKey: 'rocketmq2', Signature: expected });
    expect(calSignature(Buffer.from('x'), 'k')).toBe(createHmac('sha1', 'k').update('x').digest('base64'));
  });
});
