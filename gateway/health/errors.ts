/**
 * Codes a caller can branch on. Send failures of the notify socket keep the errno code of the
 * system call (ECONNREFUSED, ENOENT, EAGAIN...) in `errno`, and use SD_NOTIFY_SEND_FAILED here.
 */
export type HealthErrorCode =
  | 'SD_NOTIFY_INVALID_ENV' // NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID is malformed (the message names it)
  | 'SD_NOTIFY_UNSUPPORTED_ADDRESS' // an abstract NOTIFY_SOCKET that the datagram transport cannot address
  | 'SD_NOTIFY_SEND_FAILED' // sendto() on the notify socket failed; `errno` has the system code
  | 'HEALTH_INVALID_ARGUMENT' // bad option (the message names it)
  | 'HEALTH_NO_CHECKS' // start() without a single check: pinging the watchdog blindly is what we avoid
  | 'HEALTH_CHECK_TIMEOUT' // a check did not answer within checkTimeoutMs
  | 'HEALTH_PROBE_FAILED'; // a probe (MQTT CONNECT, SQLite write) failed; the message says how

export class HealthError extends Error {
  override readonly name = 'HealthError';

  constructor(
    readonly code: HealthErrorCode,
    message: string,
    options?: { cause?: unknown; errno?: string },
  ) {
    super(message, options);
    this.errno = options?.errno;
  }

  /** System error code behind the failure (e.g. 'ECONNREFUSED'), when there is one. */
  readonly errno: string | undefined;
}

/** Throws HEALTH_INVALID_ARGUMENT unless `value` is an integer in [min, max]. */
export function checkIntOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new HealthError('HEALTH_INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}
