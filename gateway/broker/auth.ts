import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { AedesOptions, Client } from 'aedes';
import { BrokerError } from './errors.ts';

/**
 * Users, password hashes and ACLs of the embedded broker (docs/mqtt.md, "Authentication").
 * Hashes are `scrypt$N$r$p$saltB64$hashB64` (node:crypto scrypt), so the config file never holds a
 * password. ACL patterns are MQTT topic filters (`+`, `#`).
 */

export interface Acl {
  /** Topic filters the user may publish to. */
  publish: readonly string[];
  /** Topic filters the user may subscribe to; a subscription is granted when a pattern covers it. */
  subscribe: readonly string[];
}

export interface MqttUser extends Acl {
  username: string;
  /** `scrypt$N$r$p$salt$hash`, from `tsx gateway/broker/hash-password.ts`. */
  passwordHash: string;
}

export interface AuthOptions {
  users: readonly MqttUser[];
  /** Clients without a username may connect (with the anonymous ACL). */
  allowAnonymous: boolean;
  anonymous: Acl;
}

/** scrypt cost: N=16384, r=8, p=1 is node's default (16 MiB, ~50 ms on a Pi 4): slow for guessing, fine per connect. */
export const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;
/** Highest N accepted from a stored hash, so a hand-edited config cannot make one connect eat a GiB. */
const MAX_SCRYPT_N = 1 << 20;

export function hashPassword(password: string, salt: Buffer = randomBytes(SCRYPT_DEFAULTS.saltBytes)): string {
  const { N, r, p, keyBytes } = SCRYPT_DEFAULTS;
  const hash = scryptSync(password, salt, keyBytes, { N, r, p, maxmem: 256 * N * r });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Parses a stored hash; throws BrokerError BROKER_INVALID_OPTION naming what is wrong. */
export function parseHash(stored: string, who = 'passwordHash'): ParsedHash {
  const parts = stored.split('$');
  const bad = (why: string): never => {
    throw new BrokerError('BROKER_INVALID_OPTION', `${who} is not a valid scrypt hash (${why}); expected scrypt$N$r$p$salt$hash as printed by "tsx gateway/broker/hash-password.ts"`);
  };
  if (parts.length !== 6 || parts[0] !== 'scrypt') bad('it must have 6 $-separated fields starting with "scrypt"');
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!Number.isInteger(N) || N < 2 || N > MAX_SCRYPT_N || (N & (N - 1)) !== 0) bad(`N must be a power of two up to ${MAX_SCRYPT_N}`);
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) bad('r must be 1..32 and p 1..16');
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16) bad('salt or hash too short');
  return { N, r, p, salt, hash };
}

export function verifyPassword(password: Buffer | string, stored: string | ParsedHash): boolean {
  const h = typeof stored === 'string' ? parseHash(stored) : stored;
  const got = scryptSync(password, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r });
  return timingSafeEqual(got, h.hash);
}

/** verifyPassword off the event loop (libuv's thread pool): what the broker uses per CONNECT. */
export function verifyPasswordAsync(password: Buffer | string, h: ParsedHash): Promise<boolean> {
  return new Promise((resolve, reject) => {
    scrypt(password, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r }, (err, got) => (err ? reject(err) : resolve(timingSafeEqual(got, h.hash))));
  });
}

/**
 * Password checks run at once (each ~50 ms of a core on a Pi 4, in the thread pool); further
 * CONNECTs wait in a queue of MAX_QUEUED_PASSWORD_CHECKS, and beyond it are refused with CONNACK 3
 * (server unavailable) at once: a flood of CONNECTs with made-up users cannot take the CPU or
 * the thread pool (which the store's and the log's file I/O share) from everything else.
 */
export const MAX_CONCURRENT_PASSWORD_CHECKS = 2;
export const MAX_QUEUED_PASSWORD_CHECKS = 32;

/** Anonymous clients may publish (HA's birth message) at most this many bytes per message. */
export const MAX_ANONYMOUS_PAYLOAD_BYTES = 64;

/** Whether MQTT topic filter `filter` matches topic name `topic` ([MQTT-4.7]; `$` topics only match explicit filters). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether ACL pattern `pattern` covers every topic subscription `filter` can match. */
export function filterCovered(pattern: string, filter: string): boolean {
  const p = pattern.split('/');
  const f = filter.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= f.length) return false;
    if (f[i] === '#') return false;
    if (p[i] === '+') continue;
    if (p[i] !== f[i]) return false; // includes a '+' in the filter against a literal pattern level
  }
  return p.length === f.length;
}

/** The default ACL of anonymous clients: read everything the gateway publishes, publish only HA's birth message. */
export function defaultAnonymousAcl(prefix: string, discoveryPrefix = 'homeassistant', birthTopic = `${discoveryPrefix}/status`): Acl {
  return { subscribe: [`${prefix}/#`, `${discoveryPrefix}/#`], publish: [birthTopic] };
}

export type AuthHooks = Required<Pick<AedesOptions, 'authenticate' | 'authorizeSubscribe'>> & {
  /** ACL check for a client publish; the broker combines it with its own gateway-topic guard. */
  mayPublish(client: Client | null, topic: string, payloadBytes?: number): boolean;
};

/** What a connected client is allowed, keyed by the Aedes client object (weak: gone with the client). */
const NOT_AUTHENTICATED: Acl = { publish: [], subscribe: [] };

/**
 * Builds the Aedes hooks. Hashes are parsed up front, so a malformed one fails startBroker with a
 * message naming the user instead of failing every connect. Unknown users and wrong passwords get
 * the same CONNACK (4, bad user name or password), so a client cannot probe for user names.
 */
export function createAuth(options: AuthOptions): AuthHooks {
  const users = new Map<string, { acl: Acl; hash: ParsedHash }>();
  for (const u of options.users) {
    if (users.has(u.username)) throw new BrokerError('BROKER_INVALID_OPTION', `mqtt user "${u.username}" is listed twice`);
    users.set(u.username, { acl: u, hash: parseHash(u.passwordHash, `passwordHash of mqtt user "${u.username}"`) });
  }
  const acls = new WeakMap<Client, Acl>();
  const aclOf = (client: Client | null): Acl => (client ? (acls.get(client) ?? NOT_AUTHENTICATED) : NOT_AUTHENTICATED);
  const refuse = (code: 3 | 4 | 5, message: string) => Object.assign(new Error(message), { returnCode: code });
  const checks = new CheckQueue(MAX_CONCURRENT_PASSWORD_CHECKS, MAX_QUEUED_PASSWORD_CHECKS);

  return {
    authenticate: (client, username, password, done) => {
      if (username === undefined || username === '') {
        if (!options.allowAnonymous) return done(refuse(5, 'anonymous clients are not allowed (mqtt.allowAnonymous is false)'), false);
        // A persistent session keeps queueing QoS 1 messages while its client is away, without
        // bound in Aedes: only users the operator configured may have one.
        if (client.clean === false) return done(refuse(5, 'anonymous clients must connect with a clean session (clean: true); configure a user for a persistent one'), false);
        acls.set(client, options.anonymous);
        return done(null, true);
      }
      const user = users.get(username);
      // Still run scrypt for an unknown user, so the answer time does not tell which names exist.
      const queued = checks.run(() => verifyPasswordAsync(password ?? '', user?.hash ?? DUMMY()));
      if (queued === null) return done(refuse(3, 'too many password checks in progress; try again'), false);
      queued.then(
        (ok) => {
          if (!ok || !user) return done(refuse(4, 'bad user name or password'), false);
          acls.set(client, user.acl);
          done(null, true);
        },
        () => done(refuse(4, 'bad user name or password'), false),
      );
    },
    authorizeSubscribe: (client, sub, callback) => {
      const allowed = aclOf(client).subscribe.some((p) => filterCovered(p, sub.topic));
      // null (not an error) refuses just this subscription with SUBACK 0x80 and keeps the client connected.
      callback(null, allowed ? sub : null);
    },
    mayPublish: (client, topic, payloadBytes = 0) => {
      if (client === null) return true;
      const acl = aclOf(client);
      if (acl === options.anonymous && payloadBytes > MAX_ANONYMOUS_PAYLOAD_BYTES) return false;
      return acl.publish.some((p) => topicMatches(p, topic));
    },
  };
}

/** Runs at most `concurrency` tasks at once with up to `maxQueued` waiting; run() is null when full. */
class CheckQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  run<T>(task: () => Promise<T>): Promise<T> | null {
    if (this.running >= this.concurrency && this.waiting.length >= this.maxQueued) return null;
    const start = (): Promise<T> => {
      this.running++;
      return task().finally(() => {
        this.running--;
        this.waiting.shift()?.();
      });
    };
    if (this.running < this.concurrency) return start();
    return new Promise<T>((resolve, reject) => this.waiting.push(() => void start().then(resolve, reject)));
  }
}

let dummy: ParsedHash | null = null;
function DUMMY(): ParsedHash {
  dummy ??= parseHash(hashPassword(randomBytes(12).toString('hex')));
  return dummy;
}
