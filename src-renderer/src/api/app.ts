import { call } from './index';

export const appApi = {
  info: () => call('app:info', {}),
};
