import type { RequestOf } from '../../../src-main/console/contract/contract';
import { call, subscribe } from './index';
import type { TailEvent } from '../../../src-main/console/contract/dto';

export const playgroundApi = {
  send: (req: RequestOf<'playground:send'>) => call('playground:send', req),
  tail: (req: RequestOf<'playground:tail'>) => call('playground:tail', req),
  stopTail: (tailId: string) => call('playground:tail-stop', { tailId }),
  onTail: (cb: (event: TailEvent) => void) => subscribe('playground:tail', cb),
};
