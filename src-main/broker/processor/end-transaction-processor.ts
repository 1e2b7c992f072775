/**
 * END_TRANSACTION (37), normally oneway, from the producer after its local transaction or in answer
 * to CHECK_TRANSACTION_STATE. RocketMQ: EndTransactionProcessor. Header: producerGroup,
 * tranStateTableOffset (half-queue offset), commitLogOffset (of the half message), commitOrRollback
 * (0 unknown → nothing, 8 commit, 12 rollback), fromTransactionCheck, msgId, transactionId.
 * Commit stores the real message and an op; rollback only the op (TransactionService).
 * Errors are answered for two-way calls; a oneway caller never sees them, so they are also logged.
 */
import type { RemotingCommand } from '../../remoting/remoting-command.js';
import { isOneway } from '../../remoting/remoting-command.js';
import type { RemotingConnection } from '../../remoting/remoting-connection.js';
import { ResponseCode } from '../../remoting/response-code.js';
import type { Logger } from '../../remoting/logger.js';
import type { BrokerContext } from '../broker-context.js';
import type { EndTransactionRequest, TransactionService } from '../transaction/transaction-service.js';
import { RequestHeader } from './request-header.js';
import { fail, ok, parseHeader } from './response-util.js';

function readHeader(req: RemotingCommand): EndTransactionRequest {
  const h = new RequestHeader(req.extFields);
  return {
    producerGroup: h.str('producerGroup'),
    tranStateTableOffset: h.int('tranStateTableOffset'),
    commitLogOffset: h.int('commitLogOffset'),
    commitOrRollback: h.int('commitOrRollback'),
    fromTransactionCheck: h.bool('fromTransactionCheck'),
    msgId: h.optStr('msgId'),
  };
}

export async function processEndTransaction(ctx: BrokerContext, transactions: TransactionService, log: Logger,
  req: RemotingCommand, conn: RemotingConnection): Promise<RemotingCommand> {
  const parsed = parseHeader(req, readHeader);
  if ('error' in parsed) return parsed.error;
  const header = parsed.header;
  if (ctx.config.brokerRole === 'SLAVE') {
    return fail(req, ResponseCode.SLAVE_NOT_AVAILABLE, 'Store is not available: the broker is a slave');
  }
  const result = await transactions.endTransaction(header);
  if (!result.ok) {
    if (isOneway(req)) {
      log.warn(`END_TRANSACTION from ${conn.remoteAddress} (group ${header.producerGroup}, msgId ${header.msgId ?? '?'}) refused: ${result.remark}`);
    }
    return fail(req, ResponseCode.SYSTEM_ERROR, result.remark);
  }
  return ok(req);
}
