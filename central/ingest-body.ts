import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';

/** Default bound of a decompressed request body, in bytes (a 10 000-reading batch is about 1.5 MB). */
export const DEFAULT_MAX_INFLATED_BYTES = 32 * 1024 * 1024;

/**
 * Accepts JSON bodies sent with `Content-Encoding: gzip` (what the gateway sends) or plain.
 * Fastify's bodyLimit bounds the bytes on the wire; maxInflatedBytes bounds what they inflate to,
 * so a small gzip bomb is refused (413) instead of filling memory.
 */
export function registerGzipJson(app: FastifyInstance, maxInflatedBytes = DEFAULT_MAX_INFLATED_BYTES): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    const parse = (buf: Buffer): void => {
      try {
        done(null, JSON.parse(buf.toString('utf8')));
      } catch (err) {
        done(httpError(400, 'CENTRAL_BAD_JSON', `request body is not valid JSON: ${(err as Error).message}`));
      }
    };
    if (encoding === 'identity') return parse(body as Buffer);
    if (encoding !== 'gzip') return done(httpError(415, 'CENTRAL_BAD_ENCODING', `Content-Encoding "${encoding}" is not supported (use gzip or none)`));
    zlib.gunzip(body as Buffer, { maxOutputLength: maxInflatedBytes }, (err, out) => {
      if (err) {
        const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        return done(tooBig ? httpError(413, 'CENTRAL_BODY_TOO_LARGE', `inflated body exceeds ${maxInflatedBytes} bytes`) : httpError(400, 'CENTRAL_BAD_GZIP', `body is not valid gzip: ${err.message}`));
      }
      parse(out);
    });
  });
}

export function httpError(statusCode: number, code: string, message: string): Error & { statusCode: number; code: string } {
  return Object.assign(new Error(message), { statusCode, code });
}
