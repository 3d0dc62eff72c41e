import { CodedError } from '../gateway/coded-error.ts';
/**
 * Errors of the firmware bridge. Code branches on `code`, never on the message text.
 * - EINVALID_MESSAGE: encodeMessage was given a message that protocol v1 cannot carry.
 * - ETIMEDOUT: a command got no acknowledgement within its timeout.
 * - ECOMMAND_REFUSED: the device answered a command with `err` (payload in the message).
 * - ETOO_MANY_COMMANDS: the bound on outstanding commands was reached.
 * - ENOT_CONNECTED: a command was sent while the link was not up.
 * - ESTOPPED: the link was stopped while the command was outstanding.
 * - EINVALID_OPTION: a constructor option is out of its documented range.
 */
export type BridgeErrorCode =
  | 'EINVALID_MESSAGE'
  | 'ETIMEDOUT'
  | 'ECOMMAND_REFUSED'
  | 'ETOO_MANY_COMMANDS'
  | 'ENOT_CONNECTED'
  | 'ESTOPPED'
  | 'EINVALID_OPTION';

export class BridgeError extends CodedError<BridgeErrorCode> {
  override readonly name = 'BridgeError';
}
