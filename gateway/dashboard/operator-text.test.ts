// Texts of the operator figures on the page (public/lib/operator.js, public/lib/status.js).
import { describe, expect, it } from 'vitest';
import type { SensorAlertPayload } from '../forecast/alerts.ts';
import type { SyncStatus } from '../sync/sync-types.ts';
import { alertText, errorText, forecastText, modelText, syncText } from './public/lib/operator.js';
import { statusText } from './public/lib/status.js';

const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
const alert: SensorAlertPayload = {
  sensor: 'a', id: 'above-70', active: ['above-70'], state: 'on', threshold: 70, direction: 'above', expected_at: '2026-01-01T14:30:00.000Z', horizon_s: 7200,
  probability_min: 0.1, hysteresis_rh: 2, model_version: 'm1', forecast_base: '2026-01-01T12:00:00.000Z', since: '2026-01-01T12:00:01.000Z',
};

describe('forecastText', () => {
  const f = { sensorId: 'a', issuedAtMs: Date.UTC(2026, 0, 1, 12, 1), baseTimeMs: Date.UTC(2026, 0, 1, 12), modelVersion: 'm1', warmingUp: false, points: [{ horizonS: 600, rh: 50, lower: 48, upper: 52 }, { horizonS: 21_600, rh: 55, lower: 49, upper: 61 }] };
  it("states the band's level when the forecast carries it", () => {
    expect(forecastText({ ...f, intervalLevel: 0.8 }, hhmm)).toBe('Forecast 6 h ahead, model m1, issued 12:01. Band: 80% prediction interval.');
    expect(forecastText({ ...f, intervalLevel: 0.95, warmingUp: true }, hhmm)).toBe('Forecast 6 h ahead, model m1, issued 12:01 (warming up: short history). Band: 95% prediction interval.');
  });
  it('leaves the level out when the forecast does not state it', () => {
    expect(forecastText({ ...f, points: f.points.slice(0, 1) }, hhmm)).toBe('Forecast 0.2 h ahead, model m1, issued 12:01. Band: prediction interval.');
  });
});

describe('alertText', () => {
  it('names the threshold and the expected time', () => {
    expect(alertText(alert, hhmm)).toBe('above 70 %RH expected 14:30');
    expect(alertText({ ...alert, direction: 'below', threshold: 30 }, hhmm)).toBe('below 30 %RH expected 14:30');
  });
  it('says "possible within" when only the interval reaches the threshold', () => {
    expect(alertText({ ...alert, expected_at: null }, hhmm)).toBe('above 70 %RH possible within 2 h');
  });
  it('shows the lead alert and counts the other alerts that are on', () => {
    expect(alertText({ ...alert, active: ['above-70', 'below-30', 'damp'] }, hhmm)).toBe('above 70 %RH expected 14:30 (+2 more)');
  });
  it('shows nothing for an alert that is off or missing', () => {
    expect(alertText({ ...alert, state: 'off' }, hhmm)).toBeNull();
    expect(alertText(null)).toBeNull();
  });
});

describe('errorText', () => {
  it('shows the 1 h and 6 h rolling MAE, with a dash where nothing was scored', () => {
    const report = { sensor: 'a', window_s: 86_400, updated_at: 'x', horizons: [{ horizon_s: 600, mae: 0.1, n: 9 }, { horizon_s: 3600, mae: 0.837, n: 120 }, { horizon_s: 21_600, mae: null, n: 0 }] };
    expect(errorText(report)).toBe('live error (MAE, 24 h): 1 h 0.84 %RH (n 120) · 6 h –');
    expect(errorText(null)).toBeNull();
  });
  it('adds how often the truth fell inside the band when the report has it', () => {
    const report = { sensor: 'a', window_s: 86_400, updated_at: 'x', horizons: [{ horizon_s: 3600, mae: 0.837, n: 120, coverage: 0.7751 }, { horizon_s: 21_600, mae: 1.5, n: 100, coverage: null }] };
    expect(errorText(report)).toBe('live error (MAE, 24 h): 1 h 0.84 %RH, 78% in band (n 120) · 6 h 1.50 %RH (n 100)');
  });
  it('shows the online band factors once they have moved the band by more than 5%', () => {
    const report = {
      sensor: 'a',
      window_s: 86_400,
      updated_at: 'x',
      horizons: [
        { horizon_s: 3600, mae: 0.837, n: 120, coverage: 0.7751, band_scale: { lower: 1.02, upper: 0.97, updates: 300 } },
        { horizon_s: 21_600, mae: 1.5, n: 100, coverage: 0.81, band_scale: { lower: 0.934, upper: 1.2149, updates: 812 } },
      ],
    };
    expect(errorText(report)).toBe('live error (MAE, 24 h): 1 h 0.84 %RH, 78% in band (n 120) · 6 h 1.50 %RH, 81% in band, band ×0.93 low ×1.21 high (n 100)');
  });
});

describe('syncText and modelText', () => {
  const sync: SyncStatus = { state: 'idle', backlog: 1234, oldestUnsyncedAgeMs: null, lastSuccessMs: Date.UTC(2026, 0, 1, 10, 31), consecutiveFailures: 0, lastErrorCode: null, syncedTotal: 9, refusedTotal: 0 };
  it('shows the backlog, the last success and failures', () => {
    expect(syncText(sync, hhmm)).toBe('sync backlog 1,234 · last success 10:31');
    expect(syncText({ ...sync, lastSuccessMs: null, consecutiveFailures: 3, lastErrorCode: 'SYNC_UNREACHABLE' }, hhmm)).toBe(
      'sync backlog 1,234 · no success yet · failing (SYNC_UNREACHABLE ×3)',
    );
    expect(syncText(null)).toBeNull();
  });
  it('shows the model version and its stage honestly', () => {
    expect(modelText({ version: 'ridge-1', horizonsS: [600], stage: 'local' })).toBe('model ridge-1 · stage: local');
    expect(modelText({ version: 'ridge-1', horizonsS: [600] })).toBe('model ridge-1 · stage: unknown');
    expect(modelText(null)).toBe('forecasting off');
  });
});

describe('statusText with evictions', () => {
  it('shows thinned and dropped readings', () => {
    const status = { mqttClients: 1, syncBacklog: null, store: { readings: 10, bytes: 4096, evictions: { thinned: 1500, dropped_synced: 2, dropped_unsynced: 1 } } };
    expect(statusText(status)).toBe('MQTT clients 1 · store 10 readings, 4 kB · evicted 1,500 thinned, 3 dropped');
  });
});
