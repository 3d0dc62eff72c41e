import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/clock.ts';
import type { LinkState, Reading } from '../../gateway/types.ts';
import { I2cError } from './errors.ts';
import { createI2cSource, type I2cSourceConfig } from './i2c-config.ts';
import { openI2cBus } from './i2c-bus.ts';
import { I2cSource } from './i2c-source.ts';
import { Bme280Sim, Sht3xSim, SimulatedI2cBus } from './sim-bus.ts';
import { drive } from './test-helpers.ts';

interface Recorded {
  readings: Reading[];
  links: [LinkState, string][];
  rejected: [string, string][];
  warnings: string[];
}

function record(source: I2cSource): Recorded {
  const r: Recorded = { readings: [], links: [], rejected: [], warnings: [] };
  source.on('reading', (x) => r.readings.push(x));
  source.on('link', (s, d) => r.links.push([s, d]));
  source.on('rejected', (reason, line) => r.rejected.push([reason, line]));
  source.on('warning', (m) => r.warnings.push(m));
  return r;
}

const started: I2cSource[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
});

function shtRig(config: Partial<I2cSourceConfig> = {}) {
  const clock = new ManualClock();
  const bus = new SimulatedI2cBus();
  const sim = new Sht3xSim({ clock, tempC: 20.5, rh: 55.25 });
  bus.attach(0x44, sim);
  const source = createI2cSource(
    { bus: 1, driver: 'sht3x', sensorId: 'attic', intervalMs: 1000, ...config },
    { clock, openBus: async () => bus },
  );
  started.push(source);
  return { clock, bus, sim, source, events: record(source) };
}

describe('I2cSource', () => {
  it('reads once at start and then every intervalMs, with boot id, seq and uptime', async () => {
    const { clock, source, events } = shtRig();
    await source.start();
    await drive(clock, 3500);
    expect(events.readings).toHaveLength(4);
    const [first] = events.readings;
    expect(first).toMatchObject({ sensorId: 'attic', seq: 0, rh: 55.25, tempC: 20.5, quality: [] });
    expect(first?.bootId).toMatch(/^[0-9A-F]{8}$/);
    expect(events.readings.map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    expect(new Set(events.readings.map((r) => r.bootId)).size).toBe(1);
    const uptimes = events.readings.map((r) => r.uptimeMs);
    // The first read also waits the soft reset (1.5 + 1 ms); each read waits 15 + 1 ms for the
    // conversion before its reading exists.
    expect(uptimes).toEqual([19, 1016, 2016, 3016]);
    const walls = events.readings.map((r) => r.wallTimeMs);
    expect((walls[3] ?? 0) - (walls[1] ?? 0)).toBe(2000);
    expect(events.links.map(([s]) => s)).toEqual(['connecting', 'up']);
    expect(source.name).toBe('i2c:1:0x44');
  });

  it('goes down after 3 failed reads, with the reason, and back up when the sensor returns', async () => {
    const { clock, sim, source, events } = shtRig();
    await source.start();
    await drive(clock, 500);
    expect(events.readings).toHaveLength(1);
    sim.present = false;
    await drive(clock, 2000); // reads at 1000 and 2000 fail: still up, two warnings
    expect(events.links.at(-1)?.[0]).toBe('up');
    expect(events.warnings).toHaveLength(2);
    await drive(clock, 1000); // third failure
    expect(events.links.at(-1)?.[0]).toBe('down');
    expect(events.links.at(-1)?.[1]).toMatch(/^EREMOTEIO: /);
    await drive(clock, 2000); // stays down without repeating the event
    expect(events.links.filter(([s]) => s === 'down')).toHaveLength(1);
    sim.present = true;
    await drive(clock, 1000);
    expect(events.links.map(([s]) => s)).toEqual(['connecting', 'up', 'down', 'up']);
    expect(events.readings).toHaveLength(2);
    expect(events.readings[1]?.seq).toBe(1);
  });

  it('counts CRC failures as rejected "checksum" and keeps the link up below the limit', async () => {
    const { clock, sim, source, events } = shtRig();
    sim.corruptNextCrc(2);
    await source.start();
    await drive(clock, 2500);
    expect(source.rejectedCounts()).toEqual({ checksum: 2 });
    expect(events.rejected.map(([r]) => r)).toEqual(['checksum', 'checksum']);
    expect(events.rejected[0]?.[1]).toMatch(/CRC mismatch/);
    expect(events.readings).toHaveLength(1);
    expect(events.links.map(([s]) => s)).toEqual(['connecting', 'up']);
  });

  it('takes the link down on repeated CRC failures with code ECRC', async () => {
    const { clock, sim, source, events } = shtRig();
    sim.corruptNextCrc(3);
    await source.start();
    await drive(clock, 2500);
    expect(events.links.map(([s]) => s)).toEqual(['connecting', 'down']);
    expect(events.links.at(-1)?.[1]).toMatch(/^ECRC: /);
    expect(source.rejectedCounts().checksum).toBe(3);
  });

  it('keeps retrying a bus that cannot be opened (real ENOENT) and reports it', async () => {
    const devDir = await mkdtemp(join(tmpdir(), 'hygrocast-i2c-'));
    try {
      // The real error from a missing /dev/i2c-7, captured once so the schedule stays on the
      // ManualClock instead of waiting on file-system I/O.
      const enoent: unknown = await openI2cBus(7, { devDir }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(enoent).toMatchObject({ code: 'ENOENT' });
      const clock = new ManualClock();
      let attempts = 0;
      const source = createI2cSource(
        { bus: 7, driver: 'bme280', sensorId: 'cellar', intervalMs: 1000 },
        {
          clock,
          openBus: () => {
            attempts++;
            return Promise.reject(enoent as Error);
          },
        },
      );
      started.push(source);
      const events = record(source);
      await source.start();
      await drive(clock, 2500, 50);
      expect(events.links.at(-1)?.[0]).toBe('down');
      expect(events.links.at(-1)?.[1]).toMatch(/^ENOENT: .*i2c-7.*raspi-config/);
      expect(attempts).toBe(3);
    } finally {
      await rm(devDir, { recursive: true, force: true });
    }
  });

  it('bounds a hung read with readTimeoutMs and keeps counting while it stays stuck', async () => {
    const clock = new ManualClock();
    const source = new I2cSource({
      sensorId: 'stuck',
      intervalMs: 1000,
      readTimeoutMs: 200,
      clock,
      openBus: async () => new SimulatedI2cBus(),
      // A transfer the kernel never completes: nothing else on the bus can model that.
      createDriver: () => ({ kind: 'sht3x', address: 0x44, init: async () => undefined, measure: () => new Promise(() => undefined) }),
    });
    started.push(source);
    const events = record(source);
    await source.start();
    await drive(clock, 2100, 50);
    expect(events.links.map(([s]) => s)).toEqual(['connecting', 'down']);
    expect(events.links.at(-1)?.[1]).toMatch(/^ETIMEDOUT: /);
    const stopping = source.stop();
    await drive(clock, 300, 50);
    await stopping;
  });

  it('stop() closes the bus and ends events; a restart is a new boot', async () => {
    const { clock, bus, source, events } = shtRig();
    await source.start();
    await drive(clock, 1500);
    const firstBoot = events.readings[0]?.bootId;
    await source.stop();
    await expect(bus.read(0x44, 1)).rejects.toMatchObject({ code: 'ECLOSED' });
    const count = events.readings.length;
    await drive(clock, 3000);
    expect(events.readings).toHaveLength(count);
  });

  it('produces BME280 readings through the same path', async () => {
    const clock = new ManualClock();
    const bus = new SimulatedI2cBus().attach(0x77, new Bme280Sim({ clock, tempC: 18.25, rh: 70 }));
    const source = createI2cSource({ bus: 1, driver: 'bme280', address: 0x77, sensorId: 'porch', intervalMs: 1000 }, { clock, openBus: async () => bus });
    started.push(source);
    const events = record(source);
    await source.start();
    await drive(clock, 500);
    expect(events.readings).toHaveLength(1);
    expect(events.readings[0]?.tempC).toBe(18.25);
    expect(events.readings[0]?.rh).toBeCloseTo(70, 1);
  });

  it('rejects bad options with EINVAL naming the key', () => {
    const openBus = async (): Promise<SimulatedI2cBus> => new SimulatedI2cBus();
    const bad = (f: () => unknown, re: RegExp): void => {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(I2cError);
      expect((err as I2cError).code).toBe('EINVAL');
      expect((err as I2cError).message).toMatch(re);
    };
    bad(() => createI2cSource({ bus: 1, driver: 'sht3x', address: 0x76, sensorId: 'a' }, { openBus }), /0x76 for sht3x: expected 0x44 or 0x45/);
    bad(() => createI2cSource({ bus: 1, driver: 'sht3x', sensorId: 'has space' }, { openBus }), /sensorId/);
    bad(() => createI2cSource({ bus: 1, driver: 'sht3x', sensorId: 'a', intervalMs: 10 }, { openBus }), /intervalMs/);
    bad(() => createI2cSource({ bus: -1, driver: 'bme280', sensorId: 'a' }, { openBus }), /bus -1/);
    bad(() => createI2cSource({ bus: 1, driver: 'dht22' as 'sht3x', sensorId: 'a' }, { openBus }), /driver "dht22"/);
  });
});
