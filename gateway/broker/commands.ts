import type { Aedes, AedesPublishPacket } from 'aedes';
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import type { Logger } from '../log.ts';
import { topicsFor, type Topics } from './topics.ts';

/**
 * Request/response commands over MQTT 3.1.1 (docs/mqtt.md, "Commands"). A client publishes
 * `{"id": <correlation id>, ...arguments}` on `<prefix>/bridge/request/<command>` and subscribes
 * to `<prefix>/bridge/response/<command>`, where the gateway answers (not retained)
 * `{"id", "ok": true, "data"}` or `{"id", "ok": false, "error": {"code", "message"}}`. 3.1.1 has no
 * response-topic or correlation-data property (MQTT 5 has), so the id travels in the JSON and
 * clients match answers by it.
 */

/** A command handler: gets the request's arguments (the JSON object minus `id`), returns the `data`. */
export type CommandHandler = (args: Record<string, unknown>) => unknown;

/** Error codes in a response's `error.code`. A handler may throw an Error with its own `code`. */
export type CommandErrorCode = 'UNKNOWN_COMMAND' | 'BAD_REQUEST' | 'BUSY' | 'TIMEOUT' | 'COMMAND_FAILED';

export interface CommandOptions {
  prefix: string;
  logger: Logger;
  /** A handler that has not answered within this gets a TIMEOUT response, in ms. Default 10 000. */
  timeoutMs?: number;
  /** Requests handled at once; more are answered BUSY. Default 16. */
  maxInFlight?: number;
  /** Larger requests are answered BAD_REQUEST unread, in bytes. Default 4096. */
  maxRequestBytes?: number;
  clock?: Clock;
}

export const COMMAND_DEFAULTS = { timeoutMs: 10_000, maxInFlight: 16, maxRequestBytes: 4096 } as const;
const COMMAND_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const MAX_ID_CHARS = 128;

/**
 * Serves commands on the embedded broker, in process. register() adds a command (the gateway
 * registers `health`, `sensors` and `info`; the lead can add e.g. a firmware command). Handler
 * errors become error responses, never exceptions: one error route, the response.
 */
export class MqttCommands {
  private readonly topics: Topics;
  private readonly handlers = new Map<string, CommandHandler>();
  private readonly clock: Clock;
  private readonly o: Required<Omit<CommandOptions, 'clock' | 'logger' | 'prefix'>>;
  private inFlight = 0;
  private running = false;
  private readonly deliver = (packet: AedesPublishPacket, done: () => void): void => {
    done(); // never hold the broker's delivery while a handler runs
    void this.handle(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
  };

  constructor(
    private readonly aedes: Pick<Aedes, 'subscribe' | 'unsubscribe' | 'publish'>,
    private readonly options: CommandOptions,
  ) {
    this.topics = topicsFor(options.prefix);
    this.clock = options.clock ?? systemClock;
    this.o = {
      timeoutMs: options.timeoutMs ?? COMMAND_DEFAULTS.timeoutMs,
      maxInFlight: options.maxInFlight ?? COMMAND_DEFAULTS.maxInFlight,
      maxRequestBytes: options.maxRequestBytes ?? COMMAND_DEFAULTS.maxRequestBytes,
    };
  }

  /** Adds or replaces a command; the name is one topic level of a-z, 0-9, _ and -. */
  register(command: string, handler: CommandHandler): void {
    if (!COMMAND_NAME.test(command)) throw new Error(`command name "${command}" must match ${COMMAND_NAME.source}`);
    this.handlers.set(command, handler);
  }

  commands(): string[] {
    return [...this.handlers.keys()].sort();
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await new Promise<void>((resolve) => this.aedes.subscribe(this.topics.requestFilter, this.deliver, resolve));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await new Promise<void>((resolve) => this.aedes.unsubscribe(this.topics.requestFilter, this.deliver, resolve));
  }

  private async handle(topic: string, payload: Buffer): Promise<void> {
    if (!this.running) return;
    const command = topic.slice(topic.lastIndexOf('/') + 1);
    if (!COMMAND_NAME.test(command)) return; // cannot be answered on a sane topic; the broker guard allowed it, nothing to do
    let id: unknown = null;
    const answer = (body: { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } }): void => this.respond(command, { id, ...body });
    const fail = (code: CommandErrorCode | string, message: string): void => answer({ ok: false, error: { code, message } });
    if (payload.length > this.o.maxRequestBytes) return fail('BAD_REQUEST', `request is ${payload.length} bytes, more than ${this.o.maxRequestBytes}`);
    let request: unknown;
    try {
      request = payload.length === 0 ? {} : JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return fail('BAD_REQUEST', `request is not JSON: ${(err as Error).message}`);
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return fail('BAD_REQUEST', 'request must be a JSON object such as {"id": "1"}');
    const { id: rawId, ...args } = request as Record<string, unknown>;
    if (rawId !== undefined && !(typeof rawId === 'number' || (typeof rawId === 'string' && rawId.length <= MAX_ID_CHARS))) {
      return fail('BAD_REQUEST', `id must be a number or a string of at most ${MAX_ID_CHARS} characters`);
    }
    id = rawId ?? null;
    const handler = this.handlers.get(command);
    if (!handler) return fail('UNKNOWN_COMMAND', `unknown command "${command}"; known: ${this.commands().join(', ')}`);
    if (this.inFlight >= this.o.maxInFlight) return fail('BUSY', `${this.inFlight} requests in progress; retry later`);
    this.inFlight++;
    let timer: TimerHandle | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = this.clock.setTimeout(() => reject(Object.assign(new Error(`no answer within ${this.o.timeoutMs} ms`), { code: 'TIMEOUT' })), this.o.timeoutMs);
      });
      const data = await Promise.race([Promise.resolve().then(() => handler(args)), timeout]);
      answer({ ok: true, data: data ?? null });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      fail(typeof code === 'string' ? code : 'COMMAND_FAILED', (err as Error).message ?? String(err));
      if (typeof code !== 'string') this.options.logger.warn({ command, err }, 'mqtt command failed');
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      this.inFlight--;
    }
  }

  private respond(command: string, body: Record<string, unknown>): void {
    this.aedes.publish(
      { cmd: 'publish', topic: this.topics.response(command), payload: Buffer.from(JSON.stringify(body), 'utf8'), qos: 0, retain: false, dup: false },
      (err) => {
        if (err) this.options.logger.warn({ command, err: err.message }, 'mqtt command response not published');
      },
    );
  }
}

/** Subscribes in process to HA's birth topic and calls `onOnline` on every `online` payload. Returns the unsubscribe. */
export async function watchBirth(aedes: Pick<Aedes, 'subscribe' | 'unsubscribe'>, topic: string, onOnline: () => void): Promise<() => Promise<void>> {
  const deliver = (packet: AedesPublishPacket, done: () => void): void => {
    done();
    if (Buffer.from(packet.payload).toString('utf8') === 'online') onOnline();
  };
  await new Promise<void>((resolve) => aedes.subscribe(topic, deliver, resolve));
  return () => new Promise<void>((resolve) => aedes.unsubscribe(topic, deliver, resolve));
}
