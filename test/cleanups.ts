import { afterEach } from 'vitest';

/** Something a test started and must undo: a process, a port, a temp folder. */
export type Cleanup = () => unknown;

/**
 * A list a test pushes its cleanups onto; after each test they run, last pushed first, each
 * awaited before the next, and the list is emptied. Call it at the top of the file or of a
 * describe block (where afterEach would go).
 */
export function cleanupAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  return cleanups;
}
