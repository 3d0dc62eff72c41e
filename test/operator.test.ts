import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './prereq.ts';
import { runDoctor } from '../cli/doctor/doctor.ts';
import { INSTALL_DIR } from '../cli/passthrough.ts';
import { REPO_ROOT, startGatewayProcess, type GatewayProcess } from './gateway-process.ts';

/** Flags for Debian's chromium in a container: headless, no sandbox, and no traffic of its own. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

/** What the page's debug hook (window.__hygrocast) tells about one sensor's chart. */
interface ChartView {
  readings: number;
  latestSeq: number | null;
  forecastPoints: number;
  series: string[];
  bands: number[][];
  bandValues: number;
}

async function chartView(page: Page, sensorId: string): Promise<ChartView | null> {
  return await page.evaluate((id) => {
    interface Hook {
      state: { sensors: Map<string, { readings: { seq: number }[]; forecast: { points: unknown[] } | null }> };
      charts: () => Record<string, { series: { label?: string }[]; bands?: { series: number[] }[]; data: (number | null)[][] } | null>;
    }
    const hook = (window as unknown as { __hygrocast?: Hook }).__hygrocast;
    const sensor = hook?.state.sensors.get(id);
    const plot = hook?.charts()[id];
    if (!sensor || !plot) return null;
    return {
      readings: sensor.readings.length,
      latestSeq: sensor.readings.at(-1)?.seq ?? null,
      forecastPoints: sensor.forecast?.points.length ?? 0,
      series: plot.series.map((s) => s.label ?? ''),
      bands: (plot.bands ?? []).map((b) => b.series),
      bandValues: (plot.data[3] ?? []).filter((v) => v !== null).length,
    };
  }, sensorId);
}

/**
 * The operator's view of a running gateway (its own process, simulated sensors at 5 Hz):
 * /metrics as Prometheus scrapes it, and the dashboard in Debian's chromium (no browser download).
 */
describe('a running gateway seen by an operator', () => {
  let gw: GatewayProcess | null = null;
  /** Gateways stopped by the reconnect test; their folders hold the data the new one uses. */
  const retired: GatewayProcess[] = [];
  let browser: Browser | null = null;
  const chromiumPath = requireTool('chromium');
  const promtool = requireTool('promtool');

  beforeAll(async () => {
    gw = await startGatewayProcess({
      gateway: { id: 'cellar-pi' },
      sources: [{ type: 'sim', sensors: ['sim-1', 'sim-2'], intervalMs: 200 }],
      store: { flushIntervalMs: 200 },
      // A threshold every forecast reaches, so the card shows an alert badge.
      forecast: { checkIntervalMs: 300, alerts: [{ sensor: 'sim-1', above: 5 }] },
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    gw?.cleanup();
    for (const old of retired) old.cleanup();
  });

  it('serves /metrics that promtool accepts, with readings counted per sensor', async () => {
    if (!gw) throw new Error('gateway not started');
    const url = `http://127.0.0.1:${gw.dashboardPort}/metrics`;
    let body = '';
    // Wait until both sensors have readings and one forecast was timed.
    for (let i = 0; i < 100 && !(body.includes('sensor="sim-2"') && /hygrocast_forecast_duration_seconds_count\{outcome="forecast"\} [1-9]/.test(body)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      body = await res.text();
    }
    expect(body).toMatch(/^hygrocast_readings_total\{sensor="sim-1"\} [1-9]/m);
    expect(body).toMatch(/^hygrocast_forecast_duration_seconds_count\{outcome="forecast"\} [1-9]/m);
    expect(body).toMatch(/^hygrocast_model_info\{version="[^"]+"\} 1$/m);
    expect(body).toMatch(/^hygrocast_store_size_bytes [1-9]/m);
    expect(body).toMatch(/^hygrocast_mqtt_clients \d+$/m);
    if (!promtool) return;
    const out = execFileSync(promtool, ['check', 'metrics'], { input: body, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out.trim()).toBe('');
  }, 30_000);

  it('doctor sees the running gateway holding its own ports as fine', async () => {
    if (!gw) throw new Error('gateway not started');
    const configFile = path.join(gw.dir, 'doctor.yaml');
    writeFileSync(configFile, `mqtt: { host: 127.0.0.1, port: ${gw.mqttPort} }\ndashboard: { host: 127.0.0.1, port: ${gw.dashboardPort} }\ndataDir: ${gw.dataDir}\n`);
    const report = await runDoctor({ configFile, env: {}, installDir: INSTALL_DIR, clockProbe: { ntpSynchronized: () => 'yes', timesyncFlagExists: () => false }, groups: [] });
    for (const id of ['port.mqtt', 'port.dashboard']) {
      expect(report.checks.find((c) => c.id === id)).toMatchObject({ status: 'ok', detail: expect.stringContaining('held by a running hygrocast gateway') });
    }
  });

  it('shows live points and the forecast band in chromium, without console errors, on a desktop and a phone', async () => {
    if (!gw) throw new Error('gateway not started');
    if (!chromiumPath) return;
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: 'en-US' });
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
    });

    await page.goto(`http://127.0.0.1:${gw.dashboardPort}/`);
    await page.waitForFunction(() => document.getElementById('connection')?.dataset.state === 'live', undefined, { timeout: 15_000 });
    await page.waitForFunction(() => {
      const hook = (window as unknown as { __hygrocast?: { charts: () => Record<string, unknown> } }).__hygrocast;
      return hook !== undefined && hook.charts()['sim-1'] != null;
    }, undefined, { timeout: 15_000 });

    const first = await chartView(page, 'sim-1');
    expect(first).not.toBeNull();
    const valueText = await page.locator('[data-sensor="sim-1"] .updated').textContent();
    // Live points: the chart's reading count grows and the newest seq moves on, without a reload.
    await page.waitForFunction(
      (seq) => {
        const hook = (window as unknown as { __hygrocast: { state: { sensors: Map<string, { readings: { seq: number }[] }> } } }).__hygrocast;
        return (hook.state.sensors.get('sim-1')?.readings.at(-1)?.seq ?? -1) > seq + 3;
      },
      first?.latestSeq ?? -1,
      { timeout: 15_000 },
    );
    const later = await chartView(page, 'sim-1');
    expect(later?.readings).toBeGreaterThan(first?.readings ?? 0);
    // ...and the card's "updated" time moves on (it has one-second resolution, so wait for it).
    await page.waitForFunction((before) => document.querySelector('[data-sensor="sim-1"] .updated')?.textContent !== before, valueText, { timeout: 15_000 });

    // The forecast band: uPlot has the interval series, a band between them, and values to fill.
    await page.waitForFunction(() => {
      const hook = (window as unknown as { __hygrocast: { charts: () => Record<string, { data: (number | null)[][] } | null> } }).__hygrocast;
      return (hook.charts()['sim-1']?.data[3] ?? []).some((v) => v !== null);
    }, undefined, { timeout: 15_000 });
    const withForecast = await chartView(page, 'sim-1');
    expect(withForecast?.forecastPoints).toBeGreaterThan(0);
    expect(withForecast?.series).toEqual(expect.arrayContaining(['interval low', 'interval high']));
    expect(withForecast?.bands).toEqual([[4, 3]]);
    expect(withForecast?.bandValues).toBeGreaterThan(1);
    await expect(page.locator('[data-sensor="sim-1"] .forecast-note').textContent()).resolves.toMatch(/^Forecast .* Band: 80% prediction interval\.$/);

    // The footer's operator figures from /api/status: broker clients and the store.
    await page.waitForFunction(() => /^MQTT clients \d+ · store [\d,]+ readings, .* · evicted \d+ thinned, \d+ dropped/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 15_000 });
    // Model version with its stage (the file at forecast.modelPath: "local"), and the alert badge with its threshold.
    await expect(page.locator('#model').textContent()).resolves.toMatch(/^model \S+ · stage: local$/);
    // The operator's name for this gateway, in the heading and the tab title.
    await expect(page.locator('#gateway-name').textContent()).resolves.toBe('cellar-pi');
    await expect(page.title()).resolves.toBe('cellar-pi · hygrocast');
    await page.locator('[data-sensor="sim-1"] .alert').waitFor({ state: 'visible', timeout: 15_000 });
    // In a 12-hour locale the expected time keeps its AM/PM.
    await expect(page.locator('[data-sensor="sim-1"] .alert').textContent()).resolves.toMatch(/^⚠ above 5 %RH (expected \d\d:\d\d [AP]M|possible within .+)$/);
    await expect(page.locator('[data-sensor="sim-2"] .alert').isHidden()).resolves.toBe(true);
    await expect(page.locator('[data-sensor="sim-1"] .error-note').textContent()).resolves.toMatch(/^live error/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // A phone's width: nothing sticks out sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300); // let the ResizeObserver resize the charts
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });

    expect(problems).toEqual([]);
  }, 60_000);

  it('reconnects by itself when the gateway restarts, and catches up with a fresh snapshot and new points', async () => {
    if (!gw) throw new Error('gateway not started');
    if (!chromiumPath) return;
    browser ??= await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`http://127.0.0.1:${gw.dashboardPort}/`);
    await page.waitForFunction(() => document.getElementById('connection')?.dataset.state === 'live', undefined, { timeout: 15_000 });
    interface Hook {
      state: { sensors: Map<string, { readings: { bootId: string; seq: number }[]; history: { tMs: number[] } }> };
    }
    // Remember the Map the first snapshot built: a fresh snapshot replaces it.
    const before = await page.evaluate(() => {
      const hook = (window as unknown as { __hygrocast: Hook; __firstSensors?: unknown }).__hygrocast;
      (window as unknown as { __firstSensors?: unknown }).__firstSensors = hook.state.sensors;
      return hook.state.sensors.get('sim-1')?.readings.at(-1)?.bootId ?? null;
    });
    expect(before).not.toBeNull();

    // Restart the gateway on the same dashboard port and data folder, as systemd would.
    const old = gw;
    gw = null;
    retired.push(old);
    expect(await old.stop('SIGTERM')).toBe(0);
    await page.waitForFunction(() => document.getElementById('connection')?.dataset.state === 'down', undefined, { timeout: 15_000 });
    gw = await startGatewayProcess({
      dataDir: old.dataDir,
      dashboard: { host: '127.0.0.1', port: old.dashboardPort },
      // Another seed: the simulator's boot id follows its seed, and a real device reboots with a
      // new one (with the same one its restarted seq numbers would be dropped as duplicates).
      sources: [{ type: 'sim', sensors: ['sim-1', 'sim-2'], intervalMs: 200, seed: 2 }],
      store: { flushIntervalMs: 200 },
      forecast: { checkIntervalMs: 300 },
    });
    expect(gw.dashboardPort).toBe(old.dashboardPort);

    // Back to live without a reload: a new snapshot (a new sensors Map) that still holds the
    // readings stored before the restart, then live points from the new run (a new boot id).
    await page.waitForFunction(() => document.getElementById('connection')?.dataset.state === 'live', undefined, { timeout: 30_000 });
    const caughtUp = await page.waitForFunction(
      (oldBoot) => {
        const w = window as unknown as { __hygrocast: Hook; __firstSensors?: unknown };
        const readings = w.__hygrocast.state.sensors.get('sim-1')?.readings ?? [];
        const fresh = w.__hygrocast.state.sensors !== w.__firstSensors;
        const oldKept = readings.some((r) => r.bootId === oldBoot);
        const newRun = readings.filter((r) => r.bootId !== oldBoot);
        return fresh && oldKept && newRun.length >= 5 ? newRun.length : false;
      },
      before,
      { timeout: 15_000 },
    );
    expect(await caughtUp.jsonValue()).toBeGreaterThanOrEqual(5);
    // Both runs read the dashboard's per-minute history straight from the store's file.
    for (const run of [old, gw]) expect(run.logs.filter((l) => l.msg === 'history reader not opened; snapshots average readings instead')).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);
});
