import type { RequestOf } from '../../../src-main/console/contract/contract';
import { call } from './index';

export const groupsApi = {
  list: (connectionId: string, includeSystem: boolean) => call('group:list', { connectionId, includeSystem }),
  detail: (connectionId: string, group: string) => call('group:detail', { connectionId, group }),
  resetOffset: (req: RequestOf<'group:reset-offset'>) => call('group:reset-offset', req),
  create: (req: RequestOf<'group:create'>) => call('group:create', req),
  remove: (connectionId: string, group: string, confirmName: string) => call('group:delete', { connectionId, group, confirmName }),
};
