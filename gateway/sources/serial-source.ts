import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { LineDecoder, LineEncoder } from '../../firmware-bridge/codec.ts';
import { BridgeError } from '../../firmware-bridge/errors.ts';
import type { AckMessage, CommandName, Message, RejectReason } from '../../firmware-bridge/messages.ts';
import { BridgeSession, parseInfo, UNKNOWN_BOOT_ID } from '../../firmware-bridge/session.ts';
import { Backoff } from '../../firmware-bridge/backoff.ts';
import { systemClock } from '../clock.ts';
import type { Clock, TimerHandle } from '../clock.ts';
import type { LinkState } from '../types.ts';
import type { ReadingSource, SourceEvents } from './source.ts';

export interface SerialSourceOptions {
  /** Serial device path; prefer a stable /dev/serial/by-id/... name. */
  path: string;
  /** Default 115200. */
  baudRate?: number;
  /** The link is declared down when no valid message arrives for this long, in ms. Default 5000. */
  dataTimeoutMs?: number;
  /** Default timeout of sendCommand, in ms. Default 2000. */
  commandTimeoutMs?: number;
  /** First reconnect delay, in ms; doubles per failed attempt. Default 250. */
  backoffInitialMs?: number;
  /** Longest reconnect delay, in ms. Default 5000. */
  backoffMaxMs?: number;
  /** Commands awaiting an ack at once. Default 8. */
  maxOutstandingCommands?: number;
  /** Default systemClock. */
  clock?: Clock;
}

/**
 * A device on a serial port speaking protocol v1 (firmware-bridge), as a ReadingSource.
 *
 * Link states: 'connecting' while opening the port (detail "opening ..."), again once it is open
 * (detail "... open, waiting for data") and until the first valid message; 'up' once
 * a valid message arrived; 'down' (with the reason) when opening fails, the port closes or errors,
 * or no valid message arrives for `dataTimeoutMs` (heartbeats count; garbage does not). After
 * 'down' it retries by itself with exponential backoff (250 ms doubling to 5000 ms by default,
 * reset once the link is up) until stop(). Bytes of a line cut off by a disconnect are dropped.
 * Boot id: taken from each `H` greeting. On every new connection it is reset (the device may have
 * rebooted unseen) and, unless the first message is a greeting, learnt from an automatic `info`
 * command; readings in between carry bootId "unknown".
 */
export class SerialSource extends EventEmitter<SourceEvents> implements ReadingSource {
  readonly name: string;
  private readonly clock: Clock;
  private readonly dataTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly backoff: Backoff;
  private readonly session: BridgeSession;
  private readonly decoder = new LineDecoder();
  private readonly encoder = new LineEncoder();
  private port: SerialPort | null = null;
  private portOpen = false;
  private state: LinkState | null = null;
  private detail = '';
  private running = false;
  private retryTimer: TimerHandle | null = null;
  private dataTimer: TimerHandle | null = null;
  /** Next `info` while the boot id is unknown on an open link. */
  private infoTimer: TimerHandle | null = null;
  private readonly infoBackoff = new Backoff(1000, 30_000);
  private opening: Promise<void> = Promise.resolve();
  private closing: Promise<void> = Promise.resolve();

  constructor(private readonly options: SerialSourceOptions) {
    super();
    if (!options.path) throw new BridgeError('EINVALID_OPTION', 'serial source needs a non-empty path');
    this.name = `serial:${options.path}`;
    this.clock = options.clock ?? systemClock;
    if (options.baudRate !== undefined && !(Number.isInteger(options.baudRate) && options.baudRate > 0)) {
      throw new BridgeError('EINVALID_OPTION', `baudRate must be a positive integer, got ${options.baudRate}`);
    }
    this.dataTimeoutMs = positive('dataTimeoutMs', options.dataTimeoutMs ?? 5000);
    this.commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs ?? 2000);
    this.backoff = new Backoff(options.backoffInitialMs ?? 250, options.backoffMaxMs ?? 5000);
    this.session = new BridgeSession({ clock: this.clock, maxOutstandingCommands: options.maxOutstandingCommands });
    this.session.on('reading', (r) => this.emit('reading', r));
    this.session.on('warning', (m) => this.emit('warning', m));
    this.session.on('lost', (count, detail) => this.emit('lost', count, detail));
    this.session.on('rebootUnseen', (_previous, detail) => {
      this.emit('warning', `device rebooted unseen (${detail}); asking for its boot id`);
      this.learnBootId();
    });
    this.decoder.on('data', (msg: Message) => this.onMessage(msg));
    this.decoder.on('rejected', (reason: RejectReason, line: string) => this.emit('rejected', reason, line));
    this.encoder.on('data', (bytes: Buffer) => this.port?.write(bytes));
    // encodeMessage is checked before every write (BridgeSession), so this only fires on a bug.
    this.encoder.on('error', (err) => this.emit('warning', `command encoder failed: ${err.message}`));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.clearTimers();
    this.session.failAll('ESTOPPED', 'serial source stopped');
    this.closePort();
    await this.opening;
    await this.closing;
    this.setState('down', 'stopped');
  }

  rejectedCounts(): Record<string, number> {
    return this.decoder.counts();
  }

  /** Current link state (null before start). */
  linkState(): LinkState | null {
    return this.state;
  }

  /**
   * Sends a command and resolves with the device's `ok` ack. Rejects with BridgeError:
   * ENOT_CONNECTED when the port is not open, ETIMEDOUT after `timeoutMs` (default
   * commandTimeoutMs) without an ack, ECOMMAND_REFUSED, ETOO_MANY_COMMANDS, EINVALID_MESSAGE.
   */
  async sendCommand(name: CommandName, arg: number | null = null, timeoutMs = this.commandTimeoutMs): Promise<AckMessage> {
    if (!this.portOpen) throw new BridgeError('ENOT_CONNECTED', `${this.name} is ${this.state ?? 'not started'}; command "${name}" not sent`);
    return this.session.sendCommand(name, arg, timeoutMs, (msg) => this.encoder.write(msg));
  }

  private connect(): void {
    if (!this.running) return;
    this.setState('connecting', `opening ${this.options.path}`);
    const port = new SerialPort({ path: this.options.path, baudRate: this.options.baudRate ?? 115200, autoOpen: false });
    this.port = port;
    port.on('data', (chunk: Buffer) => this.decoder.write(chunk));
    port.on('error', (err: Error) => this.lost(port, `port error: ${describe(err)}`));
    port.on('close', () => this.lost(port, `port ${this.options.path} closed`));
    let opened = (): void => {};
    this.opening = new Promise<void>((resolve) => (opened = resolve));
    port.open((err) => {
      opened();
      if (this.port !== port) {
        // Stopped or replaced while opening: close what just opened so no handle leaks.
        if (!err) this.closing = new Promise<void>((resolve) => port.close(() => resolve()));
        return;
      }
      if (err) {
        this.port = null;
        this.down(`cannot open ${this.options.path}: ${describe(err)}`);
        return;
      }
      this.portOpen = true;
      this.session.resetBootId();
      this.setState('connecting', `${this.options.path} open, waiting for data`);
      this.armDataTimer();
    });
  }

  private onMessage(msg: Message): void {
    if (!this.running) return;
    this.armDataTimer();
    const justUp = this.state !== 'up';
    if (justUp) {
      this.backoff.reset();
      this.setState('up', `receiving from ${this.options.path}`);
    }
    this.session.handle(msg);
    if (justUp && msg.type !== 'H') this.learnBootId();
  }

  /**
   * After a reconnect (or an unseen reboot) without a greeting, asks the device which boot it is in
   * (info ack, key `boot`), again with backoff (1 s doubling to 30 s) while the answer is lost and
   * the boot still unknown: until then every reading carries boot id "unknown".
   */
  private learnBootId(): void {
    if (this.infoTimer) this.clock.clearTimeout(this.infoTimer);
    this.infoTimer = null;
    const port = this.port;
    this.sendCommand('info').then(
      (ack) => {
        this.session.adoptBootId(parseInfo(ack.payload).boot ?? '');
        this.infoBackoff.reset();
      },
      (err: BridgeError) => {
        this.emit('warning', `could not learn the boot id after connecting: ${err.code} ${err.message}`);
        if (!this.running || this.port !== port || !this.portOpen || this.session.currentBootId !== UNKNOWN_BOOT_ID) return;
        this.infoTimer = this.clock.setTimeout(() => {
          this.infoTimer = null;
          if (this.port === port && this.session.currentBootId === UNKNOWN_BOOT_ID) this.learnBootId();
        }, this.infoBackoff.next());
      },
    );
  }

  private armDataTimer(): void {
    if (this.dataTimer) this.clock.clearTimeout(this.dataTimer);
    this.dataTimer = this.clock.setTimeout(() => {
      this.dataTimer = null;
      const port = this.port;
      if (port) this.lost(port, `no data for ${this.dataTimeoutMs} ms`);
    }, this.dataTimeoutMs);
  }

  /** The current port is gone (closed, errored or silent): close it and go down once. */
  private lost(port: SerialPort, reason: string): void {
    if (this.port !== port || !this.running) return;
    this.closePort();
    this.down(reason);
  }

  private down(reason: string): void {
    if (!this.running) return;
    this.clearTimers();
    this.session.failAll('ENOT_CONNECTED', reason);
    // Terminates a line cut off by the disconnect so it cannot merge with the next connection's bytes.
    this.decoder.write('\n');
    this.setState('down', reason);
    const delay = this.backoff.next();
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private closePort(): void {
    const port = this.port;
    this.port = null;
    this.portOpen = false;
    if (!port) return;
    port.removeAllListeners('data');
    port.removeAllListeners('close');
    // Keep an error listener: a late error from a port being closed must not crash the process.
    port.removeAllListeners('error');
    port.on('error', () => {});
    if (!port.isOpen) return;
    this.closing = new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private clearTimers(): void {
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
    if (this.dataTimer) this.clock.clearTimeout(this.dataTimer);
    if (this.infoTimer) this.clock.clearTimeout(this.infoTimer);
    this.retryTimer = null;
    this.dataTimer = null;
    this.infoTimer = null;
    this.infoBackoff.reset();
  }

  private setState(state: LinkState, detail: string): void {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    this.emit('link', state, detail);
  }
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code} ${err.message}` : err.message;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new BridgeError('EINVALID_OPTION', `${name} must be a positive number of ms, got ${value}`);
  return value;
}
