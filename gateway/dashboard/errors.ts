import { CodedError } from '../coded-error.ts';

/**
 * Why the dashboard failed to start. Callers branch on `code`, never on the message text:
 * - EADDRINUSE: the port is taken; the message names the port and the option that changes it.
 * - EACCES: the port needs privileges (below 1024 on Linux without CAP_NET_BIND_SERVICE).
 * - LISTEN_FAILED: any other listen error (the original error is the `cause`).
 * - INVALID_OPTION: an option of startDashboard() is out of range; the message names it.
 */
export type DashboardErrorCode = 'EADDRINUSE' | 'EACCES' | 'LISTEN_FAILED' | 'INVALID_OPTION';

export class DashboardError extends CodedError<DashboardErrorCode> {
  override readonly name = 'DashboardError';
}

/** Maps a listen() failure to a DashboardError that tells the operator what to change. */
export function listenError(err: unknown, host: string, port: number, optionName: string): DashboardError {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') {
    return new DashboardError(
      'EADDRINUSE',
      `dashboard port ${port} on ${host} is already in use; choose another port with ${optionName}`,
      { cause: err },
    );
  }
  if (code === 'EACCES') {
    return new DashboardError(
      'EACCES',
      `no permission to listen on port ${port} on ${host} (ports below 1024 need privileges); choose another port with ${optionName}`,
      { cause: err },
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new DashboardError('LISTEN_FAILED', `dashboard could not listen on ${host}:${port}: ${detail}`, { cause: err });
}
