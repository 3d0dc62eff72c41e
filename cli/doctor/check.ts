/** Outcome of one doctor check. `fail` makes `hygrocast doctor` exit 1; `warn` does not. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable check id to branch on, e.g. "port.mqtt", "serial./dev/ttyACM0", "model". */
  id: string;
  status: CheckStatus;
  /** What was found, in one sentence. */
  detail: string;
  /** How to fix it; present whenever status is not ok. */
  fix?: string;
}

export const ok = (id: string, detail: string): CheckResult => ({ id, status: 'ok', detail });
export const warn = (id: string, detail: string, fix: string): CheckResult => ({ id, status: 'warn', detail, fix });
export const fail = (id: string, detail: string, fix: string): CheckResult => ({ id, status: 'fail', detail, fix });
