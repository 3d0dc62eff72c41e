/** One benchmark figure, printed as one JSON line on stdout. */
export interface Figure {
  bench: string;
  figure: string;
  value: number;
  unit: string;
  /** Name of the peer measured in the same run (mosquitto, a naive baseline), if any. */
  peer?: string;
  peer_value?: number;
  /** value / peer_value. */
  ratio?: number;
  [extra: string]: unknown;
}

export function emit(figure: Figure): void {
  const out: Figure = { ...figure, value: round(figure.value) };
  if (figure.peer_value !== undefined) {
    out.peer_value = round(figure.peer_value);
    out.ratio = round(figure.value / figure.peer_value);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Number(v.toPrecision(4));
}

/** CPU time of this process in microseconds (user + system). */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
