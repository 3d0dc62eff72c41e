// Builders shared by the dashboard tests (not used by production code).
import type { Forecast, Reading } from '../types.ts';
import type { GatewayInfo } from './messages.ts';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export function reading(sensorId: string, wallTimeMs: number, rh: number | null, seq = 0, extra: Partial<Reading> = {}): Reading {
  return { sensorId, bootId: 'boot-1', seq, uptimeMs: seq * 1000, wallTimeMs, rh, tempC: 21.5, quality: [], ...extra };
}

export function forecast(sensorId: string, baseTimeMs: number, rh = 50): Forecast {
  return {
    sensorId,
    issuedAtMs: baseTimeMs + 1000,
    baseTimeMs,
    modelVersion: 'test-1',
    warmingUp: false,
    points: [1800, 3600].map((horizonS, i) => ({ horizonS, rh: rh + i, lower: rh + i - 3, upper: rh + i + 3 })),
  };
}

export const gatewayInfo: GatewayInfo = {
  id: 'gw-test',
  version: '0.1.0',
  model: { version: 'test-1', horizonsS: [1800, 3600], stage: 'local' },
  startedAtMs: T0 - 3_600_000,
};
