/**
 * Base of every hygrocast error class: a `code` that callers branch on (never the message
 * text, STYLE.md 8), a message for people, and an optional cause. Each component declares its
 * own closed set of codes: `class StoreError extends CodedError<StoreErrorCode>`.
 */
export class CodedError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The string `code` of any thrown value (ours, Node's errno errors, SqliteError), or undefined. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
