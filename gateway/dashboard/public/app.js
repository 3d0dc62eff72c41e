// The dashboard page: keeps one WebSocket to the gateway, applies its messages to the page
// state, and redraws the cards that changed (at most once per animation frame).
import { backoffDelayMs } from './lib/backoff.js';
import { SensorCard } from './lib/card.js';
import { applyMessage, createState } from './lib/state.js';
import { modelText, syncText } from './lib/operator.js';
import { STATUS_INTERVAL_MS, statusText } from './lib/status.js';

/** With no message at all for this long, the socket is presumed dead and replaced. */
const SILENCE_LIMIT_MS = 120_000;

const state = createState();
const cards = new Map();
const dirty = new Set();
let linksDirty = false;
let frame = 0;

const $ = (id) => document.getElementById(id);
const template = $('card-template');

function setConnection(kind, text) {
  $('connection').dataset.state = kind;
  $('connection-text').textContent = text;
}

function cardFor(sensorId) {
  let card = cards.get(sensorId);
  if (!card) {
    card = new SensorCard(template, sensorId);
    cards.set(sensorId, card);
    const ids = [...cards.keys()].sort();
    const next = cards.get(ids[ids.indexOf(sensorId) + 1]);
    $('sensors').insertBefore(card.el, next ? next.el : null);
    card.mount();
  }
  return card;
}

function renderFooter() {
  const g = state.gateway;
  // The default id is the product's name, already in the heading: name the gateway only when the
  // operator has named it, and in the tab title so that several gateways' tabs tell apart.
  const named = g && g.id !== 'hygrocast' ? g.id : '';
  $('gateway-name').textContent = named;
  document.title = named ? `${named} · hygrocast` : 'hygrocast';
  $('model').textContent = modelText(g?.model ?? null);
  const fmt = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  $('sync').textContent = syncText(state.sync, fmt) ?? '';
  $('links').replaceChildren(
    ...[...state.links].map(([source, link]) => {
      const li = document.createElement('li');
      li.dataset.state = link.state;
      li.textContent = `${source}: ${link.state}`;
      li.title = link.detail;
      return li;
    }),
  );
}

function flush() {
  frame = 0;
  for (const [id, card] of cards) {
    if (!state.sensors.has(id)) {
      card.destroy();
      cards.delete(id);
    }
  }
  for (const id of dirty) {
    const sensor = state.sensors.get(id);
    if (sensor) cardFor(id).update(sensor, state.links);
  }
  dirty.clear();
  if (linksDirty) renderFooter();
  linksDirty = false;
  $('empty').hidden = state.sensors.size > 0 || $('connection').dataset.state !== 'live';
}

function schedule(changes) {
  for (const id of changes.sensors) dirty.add(id);
  linksDirty ||= changes.links;
  if (changes.all || changes.sensors.length > 0 || changes.links) frame ||= requestAnimationFrame(flush);
}

let socket = null;
let attempt = 0;
let retryTimer = 0;
let silenceTimer = 0;

function armSilenceTimer(ws) {
  clearTimeout(silenceTimer);
  silenceTimer = setTimeout(() => replace(ws, 'no data from the gateway'), SILENCE_LIMIT_MS);
}

/** Drops `ws` (if it is still the current socket) and schedules the next attempt with backoff. */
function replace(ws, why) {
  if (socket !== ws) return;
  socket = null;
  clearTimeout(silenceTimer);
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
  ws.close();
  const delay = backoffDelayMs(attempt++);
  setConnection('down', `${why}; retrying in ${Math.ceil(delay / 1000)} s`);
  retryTimer = setTimeout(connect, delay);
}

function connect() {
  clearTimeout(retryTimer);
  if (socket) return;
  setConnection('connecting', attempt === 0 ? 'connecting…' : 'reconnecting…');
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  socket = ws;
  armSilenceTimer(ws);
  ws.onmessage = (event) => {
    armSilenceTimer(ws);
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return; // not JSON: ignore, like any message we do not understand
    }
    if (msg?.type === 'snapshot') {
      attempt = 0;
      setConnection('live', 'live');
    }
    schedule(applyMessage(state, msg));
  };
  // 1013 means "you fell behind": the fresh snapshot on reconnect catches up.
  ws.onclose = (event) => replace(ws, event.code === 1013 ? 'fell behind' : 'disconnected');
  ws.onerror = () => {}; // always followed by close
}

// A phone that wakes up should not wait for a long backoff step.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && socket === null) {
    attempt = 0;
    connect();
  }
});

/** Footer figures (broker clients, store, sync backlog): slow-changing, so polled, not streamed. */
async function refreshStatus() {
  try {
    const res = await fetch('/api/status', { signal: AbortSignal.timeout(5000) });
    if (res.ok) $('status').textContent = statusText(await res.json());
  } catch {
    // the WebSocket's connection indicator already tells the user the gateway is unreachable
  }
}
setInterval(() => void refreshStatus(), STATUS_INTERVAL_MS);
void refreshStatus();

// Read-only view for the browser test and for operators poking at the page in devtools:
// the page state and each sensor's uPlot instance (series, bands, data).
window.__hygrocast = Object.freeze({
  state,
  charts: () => Object.fromEntries([...cards].map(([id, card]) => [id, card.plot])),
});

connect();
