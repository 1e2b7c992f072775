/**
 * Request signing for clusters with ACL on (RocketMQ 4.x plain ACL). RocketMQ: AclClientRPCHook,
 * AclUtils.combineRequestContent, AclSigner.calSignature.
 *
 * The signature is HmacSHA1(secretKey) in base64 over the values of every header field plus
 * AccessKey (and SecurityToken), taken in key order (Java TreeMap: UTF-16 code-unit order, which is
 * also JavaScript's default string order), followed by the body bytes.
 */
import { createHmac } from 'node:crypto';
import type { RemotingCommand } from './remoting-command.js';

export interface AclCredentials {
  accessKey: string;
  secretKey: string;
  securityToken?: string;
}

export const ACCESS_KEY = 'AccessKey';
export const SIGNATURE = 'Signature';
export const SECURITY_TOKEN = 'SecurityToken';

/** The bytes the signature covers. */
export function signedContent(extFields: Record<string, string>, body: Buffer | undefined, credentials: AclCredentials): Buffer {
  const fields: Record<string, string> = { ...extFields, [ACCESS_KEY]: credentials.accessKey };
  if (credentials.securityToken !== undefined) fields[SECURITY_TOKEN] = credentials.securityToken;
  delete fields[SIGNATURE];
  const text = Object.keys(fields)
    .sort()
    .map((key) => fields[key])
    .join('');
  const head = Buffer.from(text, 'utf8');
  return body && body.length > 0 ? Buffer.concat([head, body]) : head;
}

export function calSignature(content: Buffer, secretKey: string): string {
  return createHmac('sha1', Buffer.from(secretKey, 'utf8')).update(content).digest('base64');
}

/** Adds AccessKey, Signature (and SecurityToken) to the request's header, in place. */
export function signRequest(request: RemotingCommand, credentials: AclCredentials): RemotingCommand {
  const ext = { ...(request.extFields ?? {}) };
  const signature = calSignature(signedContent(ext, request.body, credentials), credentials.secretKey);
  ext[SIGNATURE] = signature;
  ext[ACCESS_KEY] = credentials.accessKey;
  if (credentials.securityToken !== undefined) ext[SECURITY_TOKEN] = credentials.securityToken;
  request.extFields = ext;
  return request;
}
