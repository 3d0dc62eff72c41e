import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/clock.ts';
import { crc8Sensirion } from './crc8.ts';
import { I2cError } from './errors.ts';
import { decodeSht3xFrame, Sht3x, sht3xHumidity, sht3xTemperature } from './sht3x.ts';
import { Sht3xSim, SimulatedI2cBus } from './sim-bus.ts';

function frame(rawT: number, rawRh: number): Uint8Array {
  const t = [rawT >> 8, rawT & 0xff];
  const h = [rawRh >> 8, rawRh & 0xff];
  return Uint8Array.from([...t, crc8Sensirion(t), ...h, crc8Sensirion(h)]);
}

/** A bus with one SHT3x on a ManualClock, and a sleep that moves that clock. */
function rig(opts: { tempC?: number; rh?: number } = {}) {
  const clock = new ManualClock();
  const bus = new SimulatedI2cBus();
  const sim = new Sht3xSim({ clock, ...opts });
  bus.attach(0x44, sim);
  const slept: number[] = [];
  const sleep = async (ms: number): Promise<void> => {
    slept.push(ms);
    clock.advance(ms);
  };
  return { clock, bus, sim, slept, driver: new Sht3x(bus, { sleep }) };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(I2cError);
  return (err as I2cError).code;
}

describe('SHT3x conversion (datasheet 4.13)', () => {
  it('converts the range ends and a mid value', () => {
    expect(sht3xTemperature(0)).toBe(-45);
    expect(sht3xTemperature(0xffff)).toBe(130);
    expect(sht3xHumidity(0)).toBe(0);
    expect(sht3xHumidity(0xffff)).toBe(100);
    // 26214 / 65535 is exactly 0.4: -45 + 175 * 0.4 = 25 C, 100 * 0.4 = 40 %RH.
    expect(sht3xTemperature(26214)).toBeCloseTo(25, 10);
    expect(sht3xHumidity(26214)).toBeCloseTo(40, 10);
  });

  it('decodes a frame built from the datasheet CRC example word 0xBEEF', () => {
    const f = Uint8Array.of(0xbe, 0xef, 0x92, 0x66, 0x66, crc8Sensirion([0x66, 0x66]));
    const { rawT, rawRh } = decodeSht3xFrame(f);
    expect(rawT).toBe(0xbeef);
    expect(rawRh).toBe(0x6666);
    expect(sht3xTemperature(rawT)).toBeCloseTo(-45 + (175 * 48879) / 65535, 10);
  });

  it('rejects a CRC mismatch on either word with ECRC', () => {
    const good = frame(1000, 2000);
    for (const at of [2, 5]) {
      const bad = Uint8Array.from(good);
      bad[at] = (bad[at] ?? 0) ^ 1;
      expect(() => decodeSht3xFrame(bad)).toThrow(expect.objectContaining({ code: 'ECRC' }));
    }
  });
});

describe('Sht3x driver on the simulated bus', () => {
  it('measures the simulated conditions with command 0x2400 after the datasheet wait', async () => {
    const { driver, bus, slept } = rig({ tempC: 23.4, rh: 61.2 });
    await driver.init();
    const m = await driver.measure();
    expect(m.tempC).toBeCloseTo(23.4, 2);
    expect(m.rh).toBeCloseTo(61.2, 2);
    expect(bus.log).toContain('W 0x44 0x24 0x00');
    expect(slept.at(-1)).toBeGreaterThanOrEqual(15);
  });

  it('gets a NACK when it reads before the measurement is done', async () => {
    const { bus, clock } = rig();
    await bus.write(0x44, Uint8Array.of(0x24, 0x00));
    clock.advance(10);
    expect(await codeOf(bus.read(0x44, 6))).toBe('EREMOTEIO');
  });

  it('reports a corrupted transfer as ECRC, then reads fine again', async () => {
    const { driver, sim } = rig({ rh: 50 });
    sim.corruptNextCrc(1);
    expect(await codeOf(driver.measure())).toBe('ECRC');
    expect((await driver.measure()).rh).toBeCloseTo(50, 2);
  });

  it('reports a missing device as EREMOTEIO', async () => {
    const { driver, bus, sim } = rig();
    sim.present = false;
    expect(await codeOf(driver.measure())).toBe('EREMOTEIO');
    sim.present = true;
    bus.detach(0x44);
    expect(await codeOf(driver.init())).toBe('EREMOTEIO');
  });

  it('refuses an address the part cannot have', () => {
    const bus = new SimulatedI2cBus();
    expect(() => new Sht3x(bus, { address: 0x76, sleep: async () => undefined })).toThrow(/0x44 or 0x45/);
  });
});
