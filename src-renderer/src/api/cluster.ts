import { call } from './index';

export const clusterApi = {
  overview: (connectionId: string) => call('cluster:overview', { connectionId }),
};
