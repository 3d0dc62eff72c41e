import { describe, expect, it } from 'vitest';
import { createAuth, defaultAnonymousAcl, filterCovered, hashPassword, MAX_CONCURRENT_PASSWORD_CHECKS, MAX_QUEUED_PASSWORD_CHECKS, parseHash, topicMatches, verifyPassword } from './auth.ts';

describe('password hashes', () => {
  it('verify the right password only, with a fresh salt each time', () => {
    const h = hashPassword('correct horse');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(verifyPassword('correct horse', h)).toBe(true);
    expect(verifyPassword('correct hors', h)).toBe(false);
    expect(hashPassword('correct horse')).not.toBe(h);
  });

  it('reject malformed hashes with a message naming the user', () => {
    expect(() => parseHash('plain-text', 'passwordHash of mqtt user "bob"')).toThrow(/passwordHash of mqtt user "bob" is not a valid scrypt hash/);
    expect(() => parseHash('scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==')).toThrow(/power of two/);
    expect(() => createAuth({ users: [{ username: 'bob', passwordHash: 'x', publish: [], subscribe: [] }], allowAnonymous: false, anonymous: { publish: [], subscribe: [] } })).toThrow(
      expect.objectContaining({ code: 'BROKER_INVALID_OPTION' }),
    );
  });
});

describe('topic patterns', () => {
  it('match topics with + and #', () => {
    expect(topicMatches('hygrocast/#', 'hygrocast/kitchen/humidity')).toBe(true);
    expect(topicMatches('hygrocast/#', 'hygrocast')).toBe(true);
    expect(topicMatches('hygrocast/+/humidity', 'hygrocast/kitchen/humidity')).toBe(true);
    expect(topicMatches('hygrocast/+', 'hygrocast/kitchen/humidity')).toBe(false);
    expect(topicMatches('hygrocast/ingest/+', 'hygrocast/ingest')).toBe(false);
    expect(topicMatches('#', '$SYS/broker')).toBe(false);
  });

  it('grant a subscription only when the ACL pattern covers every topic it can match', () => {
    expect(filterCovered('hygrocast/#', 'hygrocast/+/humidity')).toBe(true);
    expect(filterCovered('hygrocast/+/humidity', 'hygrocast/kitchen/humidity')).toBe(true);
    expect(filterCovered('hygrocast/kitchen/#', 'hygrocast/#')).toBe(false);
    expect(filterCovered('hygrocast/kitchen/humidity', 'hygrocast/+/humidity')).toBe(false);
    expect(filterCovered('hygrocast/+', 'hygrocast/#')).toBe(false);
  });

  it('default anonymous ACL reads the gateway and HA topics and publishes only the birth message', () => {
    expect(defaultAnonymousAcl('hygrocast')).toEqual({ subscribe: ['hygrocast/#', 'homeassistant/#'], publish: ['homeassistant/status'] });
  });
});

describe('createAuth', () => {
  const none = { publish: [], subscribe: [] };
  const call = (auth: ReturnType<typeof createAuth>, username?: string, password?: string) =>
    new Promise<{ err: (Error & { returnCode?: number }) | null; ok: boolean | null }>((resolve) =>
      auth.authenticate({} as never, username, password === undefined ? undefined : Buffer.from(password), (err, ok) => resolve({ err, ok })),
    );

  it('refuses anonymous clients with CONNACK 5 when allowAnonymous is false, and bad credentials with 4', async () => {
    const auth = createAuth({ users: [{ username: 'u', passwordHash: hashPassword('p'), publish: ['x/#'], subscribe: [] }], allowAnonymous: false, anonymous: none });
    expect((await call(auth)).err?.returnCode).toBe(5);
    expect((await call(auth, 'u', 'wrong')).err?.returnCode).toBe(4);
    expect((await call(auth, 'nobody', 'p')).err?.returnCode).toBe(4);
    expect(await call(auth, 'u', 'p')).toEqual({ err: null, ok: true });
  });

  it('checks passwords off the event loop, a bounded number at a time, refusing a flood beyond it with CONNACK 3', async () => {
    const auth = createAuth({ users: [{ username: 'u', passwordHash: hashPassword('p'), publish: [], subscribe: [] }], allowAnonymous: false, anonymous: none });
    const answers: Array<number | 'ok'> = [];
    const flood = MAX_CONCURRENT_PASSWORD_CHECKS + MAX_QUEUED_PASSWORD_CHECKS + 6;
    const done: Array<Promise<void>> = [];
    for (let i = 0; i < flood; i++) {
      done.push(new Promise((resolve) => auth.authenticate({} as never, `guess-${i}`, Buffer.from('x'), (err) => (answers.push((err as { returnCode?: number } | null)?.returnCode ?? 'ok'), resolve()))));
    }
    // Answered at once: only the CONNECTs beyond the queue; the others wait for scrypt in the thread pool.
    expect(answers).toEqual(Array(6).fill(3));
    await Promise.all(done);
    expect(answers.filter((a) => a === 4)).toHaveLength(MAX_CONCURRENT_PASSWORD_CHECKS + MAX_QUEUED_PASSWORD_CHECKS);
    // The queue drained: the right password is accepted again.
    expect(await call(auth, 'u', 'p')).toEqual({ err: null, ok: true });
  });

  it('refuses an anonymous persistent session (clean: false) with CONNACK 5', async () => {
    const auth = createAuth({ users: [], allowAnonymous: true, anonymous: defaultAnonymousAcl('hygrocast') });
    const answer = await new Promise<(Error & { returnCode?: number }) | null>((resolve) => auth.authenticate({ clean: false } as never, undefined, undefined, (err) => resolve(err)));
    expect(answer).toMatchObject({ returnCode: 5, message: expect.stringContaining('clean session') });
  });

  it('applies the ACL of the authenticated client to publishes', async () => {
    const auth = createAuth({ users: [{ username: 'u', passwordHash: hashPassword('p'), publish: ['x/#'], subscribe: [] }], allowAnonymous: true, anonymous: none });
    const client = {} as never;
    await new Promise<void>((resolve) => auth.authenticate(client, 'u', Buffer.from('p'), () => resolve()));
    expect(auth.mayPublish(client, 'x/y')).toBe(true);
    expect(auth.mayPublish(client, 'z')).toBe(false);
    expect(auth.mayPublish({} as never, 'x/y')).toBe(false); // a client that never authenticated
  });
});
