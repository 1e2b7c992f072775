import type { RequestOf } from '../../../src-main/console/contract/contract';
import { call } from './index';

export const topicsApi = {
  list: (connectionId: string, includeSystem: boolean) => call('topic:list', { connectionId, includeSystem }),
  detail: (connectionId: string, topic: string) => call('topic:detail', { connectionId, topic }),
  create: (req: RequestOf<'topic:create'>) => call('topic:create', req),
  remove: (connectionId: string, topic: string, confirmName: string) => call('topic:delete', { connectionId, topic, confirmName }),
};
