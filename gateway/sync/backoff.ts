/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * the delay is uniform in [0, min(capMs, baseMs * 2^(failures-1))], so a fleet that lost the
 * server at the same moment does not come back in lockstep. `random` is injected for tests.
 */
export function backoffDelayMs(failures: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.floor(random() * ceiling);
}

/**
 * Marks the longest prefix of `batch` (in id order) the server's marks cover, and returns the id
 * of its last reading (0 when nothing is covered). A reading is covered when the mark of its
 * (sensor, boot) is at or past its seq.
 */
export function coveredUpToId(batch: ReadonlyArray<{ id: number; sensorId: string; bootId: string; seq: number }>, marks: ReadonlyArray<{ sensorId: string; bootId: string; seq: number }>): number {
  const bySensorBoot = new Map<string, number>();
  for (const m of marks) bySensorBoot.set(`${m.sensorId}\u0000${m.bootId}`, m.seq);
  let upTo = 0;
  for (const r of batch) {
    const mark = bySensorBoot.get(`${r.sensorId}\u0000${r.bootId}`);
    if (mark === undefined || mark < r.seq) break;
    upTo = r.id;
  }
  return upTo;
}
