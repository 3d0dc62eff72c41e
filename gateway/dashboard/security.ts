import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Everything the page needs comes from the gateway itself; the policy makes the browser refuse
 * anything else, so a page edited to pull a CDN script fails loudly on the developer's machine
 * instead of silently on a LAN without internet.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // 'self' covers ws: of the same host in current browsers; older Safari needs the schemes.
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** onSend hook adding security headers to every response. */
export async function securityHeaders(_req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  void reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  void reply.header('x-content-type-options', 'nosniff');
  void reply.header('referrer-policy', 'no-referrer');
  return payload;
}
