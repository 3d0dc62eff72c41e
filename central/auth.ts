import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Gateway tokens are 32 random bytes (256 bits), base64url. They are stored as their SHA-256 only.
 * A slow password hash (scrypt, argon2) protects low-entropy secrets people choose; a 256-bit
 * random token cannot be guessed or brute-forced from its hash, so one fast hash is enough, and it
 * lets the server look a token up by its hash on every request without a per-request KDF cost.
 */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(header.trim());
  return m?.[1] ?? null;
}

/** Constant-time comparison for the admin token (compared by hash so lengths always match). */
export function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(hashToken(a), 'hex'), Buffer.from(hashToken(b), 'hex'));
}
