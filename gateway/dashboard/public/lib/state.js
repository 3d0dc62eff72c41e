// What the page knows, and how each server message (gateway/dashboard/messages.ts) changes it.
// Pure: no DOM. Tolerant by design: a message of an unknown type or an unexpected shape is
// ignored, so an older page keeps working against a newer gateway.
import { emptyHistory, foldReadings, HISTORY_WINDOW_MS, isHistory, trimHistory } from './history.js';

/**
 * Raw readings kept per sensor: the last hour, and at most this many (one hour at 1 Hz). Older
 * readings are folded into the sensor's per-minute history (24 h, at most 1440 points), so the
 * page's memory and the chart's point count stay bounded however long the tab stays open.
 */
export const KEEP_WINDOW_MS = 3_600_000;
export const MAX_READINGS = 3600;

export function createState() {
  return { gateway: null, sensors: new Map(), links: new Map(), sync: null };
}

const NOTHING = Object.freeze({ all: false, sensors: [], links: false });

function isObject(v) {
  return typeof v === 'object' && v !== null;
}

function isReading(r) {
  return isObject(r) && typeof r.sensorId === 'string' && typeof r.wallTimeMs === 'number';
}

function sensor(state, sensorId) {
  let s = state.sensors.get(sensorId);
  if (!s) {
    s = { sensorId, readings: [], history: emptyHistory(), forecast: null, noForecast: null, source: null, alert: null, forecastError: null };
    state.sensors.set(sensorId, s);
  }
  return s;
}

/**
 * Inserts in time order (readings normally arrive in order: the loop runs once), drops
 * duplicates, trims to the raw window. Returns the readings trimmed off, oldest first.
 */
export function addReading(readings, reading) {
  let i = readings.length;
  while (i > 0 && readings[i - 1].wallTimeMs > reading.wallTimeMs) i--;
  const prev = readings[i - 1];
  if (prev && prev.bootId === reading.bootId && prev.seq === reading.seq) return [];
  readings.splice(i, 0, reading);
  const newest = readings[readings.length - 1].wallTimeMs;
  let drop = Math.max(0, readings.length - MAX_READINGS);
  while (drop < readings.length && readings[drop].wallTimeMs < newest - KEEP_WINDOW_MS) drop++;
  return drop > 0 ? readings.splice(0, drop) : [];
}

/** Adds a reading to a sensor; what leaves the raw window goes into the 24 h history. */
function addToSensor(s, reading) {
  const dropped = addReading(s.readings, reading);
  if (dropped.length === 0) return;
  foldReadings(s.history, dropped);
  trimHistory(s.history, s.readings[s.readings.length - 1].wallTimeMs - HISTORY_WINDOW_MS);
}

/**
 * Applies one parsed server message. Returns what must be redrawn:
 * `all` (everything, after a snapshot), `sensors` (ids of cards) and `links` (link states).
 */
export function applyMessage(state, msg) {
  if (!isObject(msg)) return NOTHING;
  switch (msg.type) {
    case 'snapshot': {
      if (!Array.isArray(msg.sensors)) return NOTHING;
      state.gateway = isObject(msg.gateway) ? msg.gateway : null;
      state.sensors = new Map();
      state.links = new Map();
      state.sync = isObject(msg.sync) ? msg.sync : null;
      for (const l of Array.isArray(msg.links) ? msg.links : []) {
        if (isObject(l) && typeof l.source === 'string') state.links.set(l.source, { state: l.state, detail: l.detail });
      }
      for (const snap of msg.sensors) {
        if (!isObject(snap) || typeof snap.sensorId !== 'string') continue;
        const s = sensor(state, snap.sensorId);
        if (isHistory(snap.history)) s.history = { bucketMs: snap.history.bucketMs, tMs: [...snap.history.tMs], rh: [...snap.history.rh], n: [...snap.history.n] };
        for (const r of Array.isArray(snap.readings) ? snap.readings : []) if (isReading(r)) addToSensor(s, r);
        s.alert = isObject(snap.alert) ? snap.alert : null;
        s.forecastError = isObject(snap.forecastError) ? snap.forecastError : null;
        s.forecast = isObject(snap.forecast) ? snap.forecast : null;
        s.noForecast = isObject(snap.noForecast) ? snap.noForecast : null;
        s.source = typeof snap.source === 'string' ? snap.source : null;
      }
      return { all: true, sensors: [...state.sensors.keys()], links: true };
    }
    case 'reading': {
      if (!isReading(msg.reading)) return NOTHING;
      addToSensor(sensor(state, msg.reading.sensorId), msg.reading);
      return { all: false, sensors: [msg.reading.sensorId], links: false };
    }
    case 'forecast': {
      const f = msg.forecast;
      if (!isObject(f) || typeof f.sensorId !== 'string' || !Array.isArray(f.points)) return NOTHING;
      const s = sensor(state, f.sensorId);
      s.forecast = f;
      s.noForecast = null;
      return { all: false, sensors: [f.sensorId], links: false };
    }
    case 'noForecast': {
      const n = msg.info;
      if (!isObject(n) || typeof n.sensorId !== 'string') return NOTHING;
      const s = sensor(state, n.sensorId);
      s.noForecast = n;
      s.forecast = null; // withdrawn by the gateway: the chart must not keep drawing it
      return { all: false, sensors: [n.sensorId], links: false };
    }
    case 'link': {
      if (typeof msg.source !== 'string') return NOTHING;
      state.links.set(msg.source, { state: msg.state, detail: msg.detail });
      const affected = [...state.sensors.values()].filter((s) => s.source === msg.source).map((s) => s.sensorId);
      return { all: false, sensors: affected, links: true };
    }
    case 'alert': {
      const a = msg.alert;
      if (!isObject(a) || typeof a.sensor !== 'string') return NOTHING;
      sensor(state, a.sensor).alert = a;
      return { all: false, sensors: [a.sensor], links: false };
    }
    case 'forecastError': {
      const r = msg.report;
      if (!isObject(r) || typeof r.sensor !== 'string' || !Array.isArray(r.horizons)) return NOTHING;
      sensor(state, r.sensor).forecastError = r;
      return { all: false, sensors: [r.sensor], links: false };
    }
    case 'sync': {
      if (!isObject(msg.status)) return NOTHING;
      state.sync = msg.status;
      // The footer is redrawn with the links.
      return { all: false, sensors: [], links: true };
    }
    default:
      return NOTHING;
  }
}
