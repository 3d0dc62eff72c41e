import { CodedError } from '../coded-error.ts';

/**
 * Codes a caller can branch on. SQLite's own failures (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY...)
 * are thrown from flush() unchanged as better-sqlite3 SqliteError, whose `code` is SQLite's name.
 */
export type StoreErrorCode =
  | 'STORE_CLOSED' // the store was closed; a programming error in the caller
  | 'STORE_INVALID_READING' // append() got a reading with a bad field (the message names it)
  | 'STORE_INVALID_ARGUMENT' // bad option or query argument (the message names it)
  | 'STORE_OPEN_FAILED' // the database could not be opened (permissions, missing device, ...)
  | 'STORE_CORRUPT' // integrity check failed (handled at open by moving the file aside)
  | 'STORE_SCHEMA_TOO_NEW' // the file was written by a newer hygrocast; refusing to downgrade it
  | 'STORE_CLOSE_FLUSH_FAILED'; // close() could not write the buffer; those readings are lost

export class StoreError extends CodedError<StoreErrorCode> {
  override readonly name = 'StoreError';
}

export { errorCode } from '../coded-error.ts';
