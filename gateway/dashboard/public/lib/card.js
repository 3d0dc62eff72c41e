// One sensor card: current values, trend, flags, link state and the uPlot chart.
import { alertText, errorText, forecastText } from './operator.js';
import { chartData } from './series.js';
import { trend, TREND_WINDOW_MS } from './trend.js';

const ARROWS = { up: '↑', down: '↓', steady: '→' };
const CHART_HEIGHT_PX = 220;
const CHART_HEIGHT_NARROW_PX = 180;

function timeOf(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Hours and minutes in the viewer's locale ("14:30", "02:30 PM"); cutting timeOf's text lost the AM/PM. */
function hourMinuteOf(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function signed(n) {
  return `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(1)}`;
}

/** Draws a dashed vertical line at the current time, so the forecast is visibly "ahead of now". */
function nowLinePlugin() {
  return {
    hooks: {
      draw: (u) => {
        const x = u.valToPos(Date.now() / 1000, 'x', true);
        if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = '#888';
        ctx.setLineDash([3, 3]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillStyle = '#888';
        ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
        ctx.fillText('now', x + 4, u.bbox.top + 12 * devicePixelRatio);
        ctx.restore();
      },
    },
  };
}

function chartSize(el) {
  const width = Math.max(200, Math.floor(el.clientWidth));
  return { width, height: width < 420 ? CHART_HEIGHT_NARROW_PX : CHART_HEIGHT_PX };
}

function chartOptions(size) {
  const axisColor = getComputedStyle(document.documentElement).getPropertyValue('--muted').trim() || '#666';
  const axis = { stroke: axisColor, grid: { stroke: 'rgba(128,128,128,0.15)' }, ticks: { stroke: 'rgba(128,128,128,0.3)' } };
  return {
    ...size,
    scales: {
      x: { time: true },
      y: {
        range: (_u, min, max) => {
          if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 100];
          return [Math.max(0, Math.floor(min - 2)), Math.min(100, Math.ceil(max + 2))];
        },
      },
    },
    axes: [
      { ...axis, label: 'time', labelSize: 20 },
      // Short enough for a phone-sized chart: "relative humidity (%RH)" was clipped at 180 px high.
      { ...axis, label: 'humidity (%RH)', labelSize: 20, size: 44, values: (_u, vals) => vals.map((v) => `${v}`) },
    ],
    series: [
      { value: (_u, v) => (v === null ? '–' : timeOf(v * 1000)) },
      { label: 'measured %RH', stroke: '#2b7bb9', width: 2, value: (_u, v) => (v === null ? '–' : v.toFixed(1)) },
      { label: 'forecast %RH', stroke: '#e07b39', width: 2, dash: [6, 4], spanGaps: true, value: (_u, v) => (v === null ? '–' : v.toFixed(1)) },
      { label: 'interval low', stroke: 'rgba(224,123,57,0.5)', width: 1, spanGaps: true, value: (_u, v) => (v === null ? '–' : v.toFixed(1)) },
      { label: 'interval high', stroke: 'rgba(224,123,57,0.5)', width: 1, spanGaps: true, value: (_u, v) => (v === null ? '–' : v.toFixed(1)) },
    ],
    // Shade between the interval's upper (series 4) and lower (series 3) bounds.
    bands: [{ series: [4, 3], fill: 'rgba(224,123,57,0.18)' }],
    legend: { live: true },
    plugins: [nowLinePlugin()],
  };
}

export class SensorCard {
  constructor(template, sensorId) {
    this.sensorId = sensorId;
    this.el = template.content.firstElementChild.cloneNode(true);
    this.el.dataset.sensor = sensorId;
    this.q = (sel) => this.el.querySelector(sel);
    this.q('.sensor-id').textContent = sensorId;
    this.chartEl = this.q('.chart');
    this.chartEl.setAttribute('aria-label', `Humidity of ${sensorId} over the last 24 hours with forecast`);
    this.plot = null;
    this.resizer = new ResizeObserver(() => this.plot?.setSize(chartSize(this.chartEl)));
  }

  /** Call once the card is in the document (uPlot measures its container). */
  mount() {
    if (this.plot || typeof uPlot === 'undefined') return;
    // uPlot is the global from /vendor/uplot/uPlot.iife.min.js, loaded before this module.
    this.plot = new uPlot(chartOptions(chartSize(this.chartEl)), [[], [], [], [], []], this.chartEl);
    this.resizer.observe(this.chartEl);
  }

  destroy() {
    this.resizer.disconnect();
    this.plot?.destroy();
    this.el.remove();
  }

  update(sensor, links) {
    this.renderNow(sensor.readings);
    this.renderLink(sensor.source, links);
    this.renderForecastNote(sensor);
    this.renderAlert(sensor.alert);
    this.q('.error-note').textContent = errorText(sensor.forecastError) ?? 'live error: not scored yet';
    this.plot?.setData(chartData(sensor.readings, sensor.forecast, sensor.history));
  }

  renderAlert(alert) {
    const el = this.q('.alert');
    const text = alertText(alert, hourMinuteOf);
    el.hidden = text === null;
    el.textContent = text === null ? '' : `⚠ ${text}`;
    const active = Array.isArray(alert?.active) ? `; on: ${alert.active.join(', ')}` : '';
    el.title = text === null ? '' : `forecast alert (model ${alert.model_version}, P ≥ ${Math.round(alert.probability_min * 100)} %) since ${alert.since}${active}`;
  }

  renderNow(readings) {
    const latest = readings[readings.length - 1];
    const value = latest && typeof latest.rh === 'number' ? latest.rh.toFixed(1) : '–';
    this.q('.rh-value').textContent = value;
    this.q('.temp').textContent = latest && typeof latest.tempC === 'number' ? `${latest.tempC.toFixed(1)} °C` : '';
    this.q('.updated').textContent = latest ? `updated ${timeOf(latest.wallTimeMs)}` : 'no readings yet';
    const flags = this.q('.flags');
    flags.replaceChildren(
      ...(latest?.quality ?? []).map((f) => {
        const span = document.createElement('span');
        span.className = 'flag';
        span.textContent = String(f).replaceAll('_', ' ');
        return span;
      }),
    );
    const t = trend(readings);
    const el = this.q('.trend');
    el.dataset.direction = t ? t.direction : 'none';
    el.textContent = t ? `${ARROWS[t.direction]} ${signed(t.deltaRh)} %RH / ${Math.round(TREND_WINDOW_MS / 60_000)} min` : '';
  }

  renderLink(source, links) {
    const el = this.q('.link-state');
    const link = source === null ? undefined : links.get(source);
    el.dataset.state = link ? link.state : 'unknown';
    el.textContent = link ? `link ${link.state}` : 'link ?';
    el.title = link ? `${source}: ${link.detail}` : 'which link carries this sensor is not known yet';
  }

  renderForecastNote(sensor) {
    const note = this.q('.forecast-note');
    const f = sensor.forecast;
    if (sensor.noForecast) {
      note.textContent = `No forecast: ${sensor.noForecast.reason.replaceAll('_', ' ')} (${sensor.noForecast.detail})`;
    } else if (f && f.points.length > 0) {
      note.textContent = forecastText(f, timeOf);
    } else {
      note.textContent = 'No forecast yet.';
    }
  }
}
