/**
 * Resolves when `predicate` holds, polling every `pollMs`; rejects naming `what` after
 * `timeoutMs`. For waiting on real processes and sockets in integration tests: a bound on
 * waiting, not a timing assertion.
 */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 15_000, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
