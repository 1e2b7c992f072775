import type { RequestOf } from '../../../src-main/console/contract/contract';
import { call } from './index';

export const connectionsApi = {
  list: () => call('connection:list', {}),
  save: (req: RequestOf<'connection:save'>) => call('connection:save', req),
  remove: (id: string) => call('connection:remove', { id }),
  test: (req: RequestOf<'connection:test'>) => call('connection:test', req),
};
