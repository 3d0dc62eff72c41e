import { createRequire } from 'node:module';
import os from 'node:os';
import { HealthError } from './errors.ts';

/**
 * The systemd notify protocol (sd_notify(3)): newline-separated KEY=VALUE assignments sent as
 * one datagram to the Unix socket named by NOTIFY_SOCKET. Node's dgram has no Unix sockets,
 * so the datagram goes through the native `unix-dgram` package behind DatagramTransport.
 */

/** Longest STATUS= text sent, in characters; longer text is cut. systemd reads at most 4 KiB per datagram. */
export const MAX_STATUS_CHARS = 512;
/** sockaddr_un.sun_path holds 108 bytes including the terminating NUL (Linux). */
const MAX_SUN_PATH_BYTES = 107;

/** Where NOTIFY_SOCKET points. `address` is what goes into sun_path (a leading NUL for abstract). */
export interface NotifyAddress {
  kind: 'path' | 'abstract';
  address: string;
}

/** Sends datagrams to one Unix socket address. */
export interface DatagramTransport {
  /** Sends one datagram; calls `done` exactly once with null or the error (sync or async: the notifier defers it). */
  send(payload: Buffer, done: (err: Error | null) => void): void;
  /** Releases the socket. Idempotent. */
  close(): void;
}

export type TransportFactory = (address: NotifyAddress) => DatagramTransport;

export interface SdNotifierOptions {
  /** Environment to read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** This process's pid, compared with WATCHDOG_PID. Default process.pid. */
  pid?: number;
  /** The one error route: a failed send (never thrown). Called asynchronously, at most once per send. */
  onError?: (err: HealthError) => void;
  /** Builds the datagram transport on first send. Default: unix-dgram. */
  transport?: TransportFactory;
}

/**
 * Tells systemd about the process's state. With NOTIFY_SOCKET unset (not started by systemd,
 * or Type= is not notify) every method is a no-op, so the gateway runs the same way by hand.
 * A send is fire-and-forget: a lost datagram is retried by the next watchdog ping, which is why
 * pings go out at half the watchdog interval. The constructor throws a HealthError
 * (SD_NOTIFY_INVALID_ENV) when the environment is malformed, so that is found at start.
 */
export class SdNotifier {
  private readonly target: NotifyAddress | null;
  private readonly watchdogMs: number | null;
  private readonly onError: (err: HealthError) => void;
  private readonly makeTransport: TransportFactory;
  private transport: DatagramTransport | null = null;
  private closed = false;

  constructor(options: SdNotifierOptions = {}) {
    const env = options.env ?? process.env;
    this.target = parseNotifySocket(env.NOTIFY_SOCKET);
    const watchdog = parseWatchdog(env, options.pid ?? process.pid);
    this.watchdogMs = this.target === null ? null : watchdog;
    this.onError = options.onError ?? (() => {});
    this.makeTransport = options.transport ?? unixDgramTransport;
  }

  /** True when NOTIFY_SOCKET is set, i.e. messages are actually sent. */
  get enabled(): boolean {
    return this.target !== null;
  }

  /** READY=1: start-up finished (Type=notify units are "activating" until this). */
  ready(status?: string): void {
    this.send(status === undefined ? ['READY=1'] : ['READY=1', statusLine(status)]);
  }

  /** STOPPING=1: shutdown began, so systemd does not count the stop time against start-up. */
  stopping(status?: string): void {
    this.send(status === undefined ? ['STOPPING=1'] : ['STOPPING=1', statusLine(status)]);
  }

  /** WATCHDOG=1: the process is healthy. Send only after a real health check passed. */
  watchdog(): void {
    this.send(['WATCHDOG=1']);
  }

  /** STATUS=<text>: shown by `systemctl status`. Newlines become spaces; cut at MAX_STATUS_CHARS. */
  status(text: string): void {
    this.send([statusLine(text)]);
  }

  /**
   * How often to ping, in ms: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) recommends.
   * null when there is no watchdog for this process (unset, no NOTIFY_SOCKET, or WATCHDOG_PID
   * names another process).
   */
  watchdogIntervalMs(): number | null {
    return this.watchdogMs;
  }

  /** Closes the socket; every later call is a no-op. Idempotent. */
  close(): void {
    this.closed = true;
    this.transport?.close();
    this.transport = null;
  }

  private send(lines: string[]): void {
    if (this.target === null || this.closed) return;
    const payload = Buffer.from(lines.join('\n'), 'utf8');
    try {
      this.transport ??= this.makeTransport(this.target);
      this.transport.send(payload, (err) => {
        if (err) queueMicrotask(() => this.report(err));
      });
    } catch (err) {
      queueMicrotask(() => this.report(err));
    }
  }

  private report(err: unknown): void {
    const target = this.target?.kind === 'abstract' ? `@${this.target.address.slice(1)}` : this.target?.address;
    const wrapped =
      err instanceof HealthError
        ? err
        : new HealthError('SD_NOTIFY_SEND_FAILED', `sd_notify to ${target ?? '?'} failed: ${errnoOf(err) ?? (err as Error).message}`, {
            cause: err,
            errno: errnoOf(err),
          });
    try {
      this.onError(wrapped);
    } catch {
      // A throwing error handler must not break the caller's shutdown or health loop.
    }
  }
}

function statusLine(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  return `STATUS=${flat.length > MAX_STATUS_CHARS ? `${flat.slice(0, MAX_STATUS_CHARS - 1)}…` : flat}`;
}

/**
 * Parses NOTIFY_SOCKET: an absolute path, or '@name' for an abstract socket (Linux), whose
 * sun_path starts with a NUL byte. Returns null when unset or empty.
 */
export function parseNotifySocket(value: string | undefined): NotifyAddress | null {
  if (value === undefined || value === '') return null;
  let result: NotifyAddress;
  if (value.startsWith('/')) result = { kind: 'path', address: value };
  else if (value.startsWith('@') && value.length > 1) result = { kind: 'abstract', address: `\0${value.slice(1)}` };
  else {
    throw new HealthError('SD_NOTIFY_INVALID_ENV', `NOTIFY_SOCKET must be an absolute path or an abstract "@name" (got ${JSON.stringify(value)})`);
  }
  if (Buffer.byteLength(result.address) > MAX_SUN_PATH_BYTES) {
    throw new HealthError('SD_NOTIFY_INVALID_ENV', `NOTIFY_SOCKET is longer than ${MAX_SUN_PATH_BYTES} bytes (got ${JSON.stringify(value)})`);
  }
  return result;
}

/**
 * A third of WATCHDOG_USEC in ms, or null when the watchdog is off or meant for another pid. A
 * third, not a half: the ping follows the checks and timers drift, so at a half one lost datagram
 * (or one failed run) let the next ping arrive just after WatchdogSec and systemd killed a
 * healthy gateway; at a third a ping may be missed and the next still comes in time.
 */
export function parseWatchdog(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || usec === '') return null;
  if (!/^[0-9]{1,15}$/.test(usec) || Number(usec) === 0) {
    throw new HealthError('SD_NOTIFY_INVALID_ENV', `WATCHDOG_USEC must be a positive integer of microseconds (got ${JSON.stringify(usec)})`);
  }
  const ownerPid = env.WATCHDOG_PID;
  if (ownerPid !== undefined && ownerPid !== '') {
    if (!/^[1-9][0-9]{0,9}$/.test(ownerPid)) {
      throw new HealthError('SD_NOTIFY_INVALID_ENV', `WATCHDOG_PID must be a process id (got ${JSON.stringify(ownerPid)})`);
    }
    if (Number(ownerPid) !== pid) return null;
  }
  return Math.max(1, Math.floor(Number(usec) / 3000));
}

/** unix-dgram reports a negative errno number as `code`; turn it into its name (ECONNREFUSED...). */
function errnoOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  if (typeof code === 'string') return code;
  if (typeof code !== 'number') return undefined;
  const name = Object.entries(os.constants.errno).find(([, value]) => value === Math.abs(code))?.[0];
  return name ?? String(code);
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback: (err?: Error) => void): void;
  close(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

/**
 * The real transport. unix-dgram copies the address with strncpy and passes the full
 * sockaddr_un size, so it cannot name an abstract socket: '\0name' would be cut to an empty
 * name and the datagram would go to whichever socket owns the all-zero abstract name. Rather
 * than send the watchdog to a stranger, an abstract address fails every send with
 * SD_NOTIFY_UNSUPPORTED_ADDRESS. systemd itself always gives a path (/run/systemd/notify);
 * abstract names come from some container managers.
 */
export function unixDgramTransport(target: NotifyAddress): DatagramTransport {
  if (target.kind === 'abstract') {
    const err = new HealthError(
      'SD_NOTIFY_UNSUPPORTED_ADDRESS',
      `NOTIFY_SOCKET @${target.address.slice(1)} is an abstract socket, which the unix-dgram transport cannot address; nothing was sent`,
    );
    return { send: (_payload, done) => done(err), close: () => {} };
  }
  // unix-dgram is CommonJS with a native binding; load it only when systemd asked for it.
  const unix = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
  let socket: UnixDgramSocket | null = unix.createSocket('unix_dgram');
  // With a send callback unix-dgram reports through it; this catches anything else it emits.
  socket.on('error', () => {});
  return {
    send(payload, done) {
      if (!socket) return done(new HealthError('SD_NOTIFY_SEND_FAILED', 'notify socket is closed'));
      socket.send(payload, 0, payload.length, target.address, (err) => done(err ?? null));
    },
    close() {
      socket?.close();
      socket = null;
    },
  };
}

/**
 * Removes systemd's notification variables from this process's environment, as sd_notify(3)
 * does with unset_environment=1. Call it once the SdNotifier has read them: otherwise every
 * child process inherits NOTIFY_SOCKET, and systemd tools run as children (timedatectl for
 * the clock-trust check) report their own exit status there as ERRNO=..., which systemd would
 * take as the service's.
 */
export function unsetNotifyEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
}
