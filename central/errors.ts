import { CodedError } from '../gateway/coded-error.ts';

/** Codes the central server's callers branch on (HTTP handlers map them to status codes). */
export type CentralErrorCode =
  | 'CENTRAL_GATEWAY_EXISTS' // registration of a gateway id that is already registered
  | 'CENTRAL_INVALID_ARGUMENT' // a bad option, id or reading field (the message names it)
  | 'CENTRAL_STORAGE_CLOSED' // storage used after close(); a programming error
  | 'CENTRAL_CONFIG_INVALID' // config file or environment refused (every problem listed)
  | 'CENTRAL_STORAGE_FAILED' // the database refused a write; nothing of that batch was stored
  | 'CENTRAL_REGISTRY_BUSY' // another process held the model registry's lock too long
  | 'CENTRAL_RETRAIN_RUNNING'; // a retraining pass is already running in another process

export class CentralError extends CodedError<CentralErrorCode> {
  override readonly name = 'CentralError';
}
