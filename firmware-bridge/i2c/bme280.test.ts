import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/clock.ts';
import {
  DATASHEET_EXAMPLE_CALIBRATION as EXAMPLE,
  encodeBme280Calibration,
  parseBme280Calibration,
  type Bme280Calibration,
} from './bme280-calibration.ts';
import { compensateHumidityQ22_10, compensatePressureQ24_8, compensateTemperature } from './bme280-compensation.ts';
import { BME280 } from './bme280-registers.ts';
import { Bme280 } from './bme280.ts';
import { I2cError } from './errors.ts';
import { Bme280Sim, SimulatedI2cBus, type Bme280SimOptions } from './sim-bus.ts';

/** Bosch's floating-point humidity formula (BME280 datasheet 8.1), written out independently. */
function humidityDouble(adcH: number, tFine: number, c: Bme280Calibration): number {
  let h = tFine - 76800.0;
  h =
    (adcH - (c.digH4 * 64.0 + (c.digH5 / 16384.0) * h)) *
    ((c.digH2 / 65536.0) * (1.0 + (c.digH6 / 67108864.0) * h * (1.0 + (c.digH3 / 67108864.0) * h)));
  h = h * (1.0 - (c.digH1 * h) / 524288.0);
  return Math.min(100, Math.max(0, h));
}

/** Bosch's floating-point pressure formula (BMP280 datasheet 8.1), the one the 3.12 example uses. */
function pressureDouble(adcP: number, tFine: number, c: Bme280Calibration): number {
  let var1 = tFine / 2.0 - 64000.0;
  let var2 = (var1 * var1 * c.digP6) / 32768.0;
  var2 = var2 + var1 * c.digP5 * 2.0;
  var2 = var2 / 4.0 + c.digP4 * 65536.0;
  var1 = ((c.digP3 * var1 * var1) / 524288.0 + c.digP2 * var1) / 524288.0;
  var1 = (1.0 + var1 / 32768.0) * c.digP1;
  let p = 1048576.0 - adcP;
  p = ((p - var2 / 4096.0) * 6250.0) / var1;
  var1 = (c.digP9 * p * p) / 2147483648.0;
  var2 = (p * c.digP8) / 32768.0;
  return p + (var1 + var2 + c.digP7) / 16.0;
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(I2cError);
  return { code: (err as I2cError).code, message: (err as I2cError).message };
}

function rig(opts: Omit<Bme280SimOptions, 'clock'> = {}) {
  const clock = new ManualClock();
  const bus = new SimulatedI2cBus();
  const sim = new Bme280Sim({ clock, ...opts });
  bus.attach(0x76, sim);
  const sleep = async (ms: number): Promise<void> => {
    clock.advance(ms);
  };
  return { clock, bus, sim, sleep, driver: new Bme280(bus, { sleep }) };
}

describe('BME280 compensation: BMP280 datasheet 3.12 worked example', () => {
  it('temperature: adc_T=519888 -> t_fine=128422, T=25.08 C', () => {
    expect(compensateTemperature(519888, EXAMPLE)).toEqual({ tFine: 128422, centiC: 2508 });
  });

  it('pressure: adc_P=415148 -> 100653.27 Pa', () => {
    // The example's table carries rounded intermediates, so the double formula reproduces its
    // 100653.27 to about 0.012 Pa; the 64-bit integer formula (Q24.8 output) lands within 0.02.
    expect(Math.abs(pressureDouble(415148, 128422, EXAMPLE) - 100653.27)).toBeLessThan(0.02);
    expect(Math.abs(compensatePressureQ24_8(415148, 128422, EXAMPLE) / 256 - 100653.27)).toBeLessThan(0.02);
  });

  it('pressure: returns 0 instead of dividing by zero when dig_P1 is 0', () => {
    expect(compensatePressureQ24_8(415148, 128422, { ...EXAMPLE, digP1: 0 })).toBe(0);
  });
});

describe('BME280 humidity compensation', () => {
  it('matches the double-precision formula within 0.1 %RH across the range', () => {
    for (const tFine of [128422, 60000, 180000]) {
      for (const adcH of [20000, 25000, 30000, 35000, 40000]) {
        const expected = humidityDouble(adcH, tFine, EXAMPLE);
        expect(Math.abs(compensateHumidityQ22_10(adcH, tFine, EXAMPLE) / 1024 - expected)).toBeLessThan(0.1);
      }
    }
  });

  it('hand-checked value: adc_H=30000 at t_fine=128422 is 55.00 %RH', () => {
    // By hand: var_H = 128422 - 76800 = 51622;
    // (30000 - (313*64 + 50/16384*51622)) = 9810.462, times 362/65536*(1 + 30/67108864*51622*(1+0))
    // = 0.0056512 gives 55.4404; times (1 - 75*55.4404/524288) gives 55.0007 %RH.
    const expected = humidityDouble(30000, 128422, EXAMPLE);
    expect(expected).toBeCloseTo(55.0007, 3);
    expect(Math.abs(compensateHumidityQ22_10(30000, 128422, EXAMPLE) / 1024 - expected)).toBeLessThan(0.1);
  });

  it('clamps to 0..100 %RH', () => {
    expect(compensateHumidityQ22_10(0, 128422, EXAMPLE)).toBe(0);
    expect(compensateHumidityQ22_10(0xffff, 128422, EXAMPLE)).toBe(100 * 1024);
  });
});

describe('BME280 calibration registers', () => {
  it('round-trips through the register images', () => {
    const { block1, block2 } = encodeBme280Calibration(EXAMPLE);
    expect(parseBme280Calibration(block1, block2)).toEqual(EXAMPLE);
  });

  it('unpacks dig_H4/dig_H5 nibbles and signedness from 0xE1..0xE7', () => {
    const { block1 } = encodeBme280Calibration(EXAMPLE);
    // 0xE4=0x13 0xE5=0x2A 0xE6=0x03: H4 = 0x13<<4 | 0xA = 314, H5 = 0x03<<4 | 0x2 = 50.
    let c = parseBme280Calibration(block1, Uint8Array.of(0x6a, 0x01, 0x00, 0x13, 0x2a, 0x03, 0x1e));
    expect([c.digH2, c.digH3, c.digH4, c.digH5, c.digH6]).toEqual([362, 0, 314, 50, 30]);
    // Negative values: H2=0xFFFF=-1, H4 = (int8)0xFF<<4 | 0xE = -2, H5 = (int8)0x80<<4 | 0x0 = -2048, H6 = 0xE2 = -30.
    c = parseBme280Calibration(block1, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0e, 0x80, 0xe2));
    expect([c.digH2, c.digH3, c.digH4, c.digH5, c.digH6]).toEqual([-1, 255, -2, -2048, -30]);
  });

  it('rejects blank NVM and wrong block sizes', () => {
    const { block2 } = encodeBme280Calibration(EXAMPLE);
    expect(() => parseBme280Calibration(new Uint8Array(26), block2)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() => parseBme280Calibration(new Uint8Array(24), block2)).toThrow(/26 and 7 bytes/);
  });
});

describe('Bme280 driver on the simulated bus', () => {
  it('reads chip id and calibration, then measures the simulated conditions in forced mode', async () => {
    const { driver, sim } = rig({ tempC: 22.5, rh: 48.3, pressurePa: 98765 });
    await driver.init();
    expect(driver.currentCalibration).toEqual(EXAMPLE);
    const m = await driver.measure();
    expect(m.tempC).toBeCloseTo(22.5, 2);
    expect(m.rh).toBeCloseTo(48.3, 1);
    expect(m.pressurePa).toBeDefined();
    expect(Math.abs((m.pressurePa ?? 0) - 98765)).toBeLessThan(1);
    expect(sim.conversions).toBe(1);
    expect(sim.peek(BME280.REG_CTRL_MEAS) & 0x03).toBe(BME280.MODE_SLEEP);
  });

  it('writes ctrl_hum before ctrl_meas', async () => {
    const { driver, bus } = rig();
    await driver.init();
    await driver.measure();
    const hum = bus.log.indexOf('W 0x76 0xf2 0x01');
    const meas = bus.log.indexOf('W 0x76 0xf4 0x25');
    expect(hum).toBeGreaterThanOrEqual(0);
    expect(meas).toBeGreaterThan(hum);
  });

  it('the sim models the ctrl_hum latch: the wrong order leaves humidity skipped (0x8000)', async () => {
    const { bus, clock } = rig();
    await bus.writeRegister(0x76, BME280.REG_CTRL_MEAS, 0x25);
    await bus.writeRegister(0x76, BME280.REG_CTRL_HUM, 0x01);
    clock.advance(20);
    const data = await bus.readRegisters(0x76, BME280.REG_DATA, 8);
    expect([data[6], data[7]]).toEqual([0x80, 0x00]);
    expect(data[3]).not.toBe(0x80);
  });

  it('refuses a BMP280 (chip id 0x58) with ENODEV', async () => {
    const { driver } = rig({ chipId: 0x58 });
    const e = await codeOf(driver.init());
    expect(e.code).toBe('ENODEV');
    expect(e.message).toMatch(/0x58.*BMP280/);
  });

  it('times out with ETIMEDOUT when the part never finishes', async () => {
    const { driver, sim } = rig();
    await driver.init();
    sim.stuckMeasuring = true;
    expect((await codeOf(driver.measure())).code).toBe('ETIMEDOUT');
  });

  it('reports a missing device as EREMOTEIO and measure() before init() as ENODEV', async () => {
    const { driver, sim } = rig();
    expect((await codeOf(driver.measure())).code).toBe('ENODEV');
    sim.present = false;
    expect((await codeOf(driver.init())).code).toBe('EREMOTEIO');
  });
});
