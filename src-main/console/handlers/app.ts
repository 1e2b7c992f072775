/** app:info — what the host says about itself. */
import type { Handler } from '../dispatch.js';

export const appInfo: Handler<'app:info'> = async (_req, ctx) => ctx.appInfo();
