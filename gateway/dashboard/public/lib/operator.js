// Texts of the operator figures on the page: alert badge, live forecast error, sync and model.
// Pure: no DOM, no clock (times are formatted by the caller's `fmtTime`).

/** Horizons whose rolling error the card shows: 1 h and 6 h ahead. */
export const ERROR_HORIZONS_S = [3600, 21_600];

const defaultTime = (ms) => new Date(ms).toISOString().slice(11, 16);

/**
 * "above 70 %RH expected 14:30" for the sensor's combined alert (its lead alert, the first to
 * cross), "... (+1 more)" when more of its alerts are on; null when there is none or it is off.
 */
export function alertText(alert, fmtTime = defaultTime) {
  if (typeof alert !== 'object' || alert === null || alert.state !== 'on') return null;
  const more = Array.isArray(alert.active) && alert.active.length > 1 ? ` (+${alert.active.length - 1} more)` : '';
  return `${leadText(alert, fmtTime)}${more}`;
}

function leadText(alert, fmtTime) {
  const threshold = `${alert.direction} ${alert.threshold} %RH`;
  const at = typeof alert.expected_at === 'string' ? Date.parse(alert.expected_at) : NaN;
  if (Number.isFinite(at)) return `${threshold} expected ${fmtTime(at)}`;
  // The interval reaches the threshold but the point forecast does not cross it (alerts.ts).
  const h = typeof alert.horizon_s === 'number' ? ` within ${formatHorizon(alert.horizon_s)}` : '';
  return `${threshold} possible${h}`;
}

/**
 * The note under a sensor's chart for its forecast: how far ahead, which model, when, and what
 * the band is ("80% prediction interval" when the forecast states its level; Forecast.intervalLevel).
 */
export function forecastText(f, fmtTime = defaultTime) {
  const hours = Math.max(...f.points.map((p) => p.horizonS)) / 3600;
  const warming = f.warmingUp ? ' (warming up: short history)' : '';
  const level = typeof f.intervalLevel === 'number' ? `${Math.round(f.intervalLevel * 1000) / 10}% ` : '';
  return `Forecast ${hours.toFixed(hours < 1 ? 1 : 0)} h ahead, model ${f.modelVersion}, issued ${fmtTime(f.issuedAtMs)}${warming}. Band: ${level}prediction interval.`;
}

function formatHorizon(s) {
  return s % 3600 === 0 ? `${s / 3600} h` : `${Math.round(s / 60)} min`;
}

/**
 * "live error (MAE, 24 h): 1 h 0.84 %RH, 78% in band (n 120) · 6 h – "; null without a report.
 * Once the gateway has moved the model's band on this site by more than 5% (online
 * calibration, docs/forecast.md), the factors follow the coverage: "band ×0.93 low ×1.21 high".
 */
export function errorText(report) {
  if (typeof report !== 'object' || report === null || !Array.isArray(report.horizons)) return null;
  const parts = ERROR_HORIZONS_S.map((h) => {
    const e = report.horizons.find((x) => x?.horizon_s === h);
    if (!e || typeof e.mae !== 'number') return `${formatHorizon(h)} –`;
    const band = typeof e.coverage === 'number' ? `, ${Math.round(e.coverage * 100)}% in band` : '';
    return `${formatHorizon(h)} ${e.mae.toFixed(2)} %RH${band}${scaleText(e.band_scale)} (n ${e.n})`;
  });
  const window = typeof report.window_s === 'number' ? `, ${formatHorizon(report.window_s)}` : '';
  return `live error (MAE${window}): ${parts.join(' · ')}`;
}

function scaleText(scale) {
  if (typeof scale !== 'object' || scale === null || typeof scale.lower !== 'number' || typeof scale.upper !== 'number') return '';
  const moved = (f) => Math.abs(Math.log(f)) > Math.log(1.05);
  if (!moved(scale.lower) && !moved(scale.upper)) return '';
  return `, band ×${scale.lower.toFixed(2)} low ×${scale.upper.toFixed(2)} high`;
}

/** "sync backlog 12 · last success 10:31"; null when sync is off or silent. */
export function syncText(sync, fmtTime = defaultTime) {
  if (typeof sync !== 'object' || sync === null || typeof sync.backlog !== 'number') return null;
  const last = typeof sync.lastSuccessMs === 'number' ? `last success ${fmtTime(sync.lastSuccessMs)}` : 'no success yet';
  const failing = sync.consecutiveFailures > 0 ? ` · failing (${sync.lastErrorCode ?? 'error'} ×${sync.consecutiveFailures})` : '';
  return `sync backlog ${sync.backlog.toLocaleString('en-US')} · ${last}${failing}`;
}

/** "model ridge-2026.11 · stage: local"; "forecasting off" without a model. */
export function modelText(model) {
  if (typeof model !== 'object' || model === null || typeof model.version !== 'string') return 'forecasting off';
  return `model ${model.version} · stage: ${typeof model.stage === 'string' ? model.stage : 'unknown'}`;
}
