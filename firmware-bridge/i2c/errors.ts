/**
 * Errors of the I2C layer (bus, drivers, simulator). Code branches on `code`, never on the
 * message text. Operating-system errors keep their errno name so logs match `man errno`:
 * - ECRC: a Sensirion CRC-8 over a data word did not match (corrupted transfer or a glitch).
 * - ENODEV: a device answered but is not the expected part (e.g. BME280 chip id is not 0x60).
 * - EREMOTEIO: no acknowledge from the address (device missing, unpowered, or not ready yet);
 *   the Linux bcm2835 I2C driver reports a NACK with this errno.
 * - ENXIO: some I2C adapters report a NACK on the address with this errno instead.
 * - ENOENT: /dev/i2c-N does not exist (I2C not enabled, or wrong bus number).
 * - EACCES: /dev/i2c-N exists but the user may not open it (not in the `i2c` group).
 * - EIO: any other bus failure from the kernel; `errno` holds the original name.
 * - ETIMEDOUT: a device did not finish in its documented time, or a read exceeded its bound.
 * - EBUSY: the bound on queued bus operations was reached.
 * - EINVAL: an argument (address, register, length, option) is out of its documented range.
 * - ECLOSED: the bus was used after close().
 * - ENOTSUP: the native `i2c-bus` module could not be loaded on this machine.
 */
export type I2cErrorCode =
  | 'ECRC'
  | 'ENODEV'
  | 'EREMOTEIO'
  | 'ENXIO'
  | 'ENOENT'
  | 'EACCES'
  | 'EIO'
  | 'ETIMEDOUT'
  | 'EBUSY'
  | 'EINVAL'
  | 'ECLOSED'
  | 'ENOTSUP';

const PASS_THROUGH: ReadonlySet<string> = new Set(['EREMOTEIO', 'ENXIO', 'ENOENT', 'EACCES', 'EIO', 'ETIMEDOUT', 'EBUSY']);

export class I2cError extends Error {
  override readonly name = 'I2cError';
  constructor(
    readonly code: I2cErrorCode,
    message: string,
    /** The operating system's errno name when the error came from the kernel (e.g. "EREMOTEIO"). */
    readonly errno?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Wraps whatever the native module or the file system threw into an I2cError, keeping the
 * errno name. Unknown kernel errors become EIO with the original name in `errno`.
 */
export function toI2cError(err: unknown, context: string): I2cError {
  if (err instanceof I2cError) return err;
  const errno = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  const text = err instanceof Error ? err.message : String(err);
  const code: I2cErrorCode = errno !== undefined && PASS_THROUGH.has(errno) ? (errno as I2cErrorCode) : 'EIO';
  return new I2cError(code, `${context}: ${text}`, errno, { cause: err });
}

/** True when `err` is an I2cError with one of `codes`. */
export function hasI2cCode(err: unknown, ...codes: I2cErrorCode[]): err is I2cError {
  return err instanceof I2cError && codes.includes(err.code);
}
