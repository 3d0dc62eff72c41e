import { describe, expect, it } from 'vitest';
import { HumiditySignal } from './signal.ts';

const HOUR = 3_600_000;
const start = Date.UTC(2026, 0, 1);

function series(seed: number, hours: number, stepMs = 60_000): Array<{ t: number; rh: number; tempC: number }> {
  const signal = new HumiditySignal({ seed });
  const out = [];
  for (let t = start; t < start + hours * HOUR; t += stepMs) out.push({ t, ...signal.sample(t) });
  return out;
}

describe('HumiditySignal', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(series(7, 24)).toEqual(series(7, 24));
    expect(series(7, 24).map((s) => s.rh)).not.toEqual(series(8, 24).map((s) => s.rh));
  });

  it('stays within the sensor range over a year of hourly samples', () => {
    for (const s of series(3, 24 * 365, HOUR)) {
      expect(s.rh).toBeGreaterThanOrEqual(0);
      expect(s.rh).toBeLessThanOrEqual(100);
      expect(s.tempC).toBeGreaterThan(-40);
      expect(s.tempC).toBeLessThan(125);
    }
  });

  it('has a daily cycle: humidity higher before dawn than mid-afternoon, temperature the opposite', () => {
    const samples = series(11, 24 * 60, 15 * 60_000);
    const at = (hour: number) => samples.filter((s) => new Date(s.t).getUTCHours() === hour);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(at(3).map((s) => s.rh))).toBeGreaterThan(mean(at(15).map((s) => s.rh)) + 8);
    expect(mean(at(15).map((s) => s.tempC))).toBeGreaterThan(mean(at(3).map((s) => s.tempC)) + 4);
  });

  it('moves slowly between samples (noise and fronts are small per minute) but wanders over days', () => {
    const samples = series(5, 24 * 30);
    const steps = samples.slice(1).map((s, i) => Math.abs(s.rh - (samples[i]?.rh ?? s.rh)));
    expect(Math.max(...steps)).toBeLessThan(3);
    const rhs = samples.map((s) => s.rh);
    expect(Math.max(...rhs) - Math.min(...rhs)).toBeGreaterThan(15);
  });
});
