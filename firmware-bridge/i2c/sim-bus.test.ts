import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/clock.ts';
import type { I2cBus } from './bus.ts';
import { I2cError } from './errors.ts';
import { openI2cBus } from './i2c-bus.ts';
import { Bme280Sim, Sht3xSim, SimulatedI2cBus } from './sim-bus.ts';

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(I2cError);
  return (err as I2cError).code;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The parts of the I2cBus contract that hold without a device attached, for every implementation. */
const implementations: [string, () => Promise<I2cBus>][] = [
  ['SimulatedI2cBus', async () => new SimulatedI2cBus()],
  [
    'openI2cBus (no kernel device)',
    async () => {
      const devDir = await mkdtemp(join(tmpdir(), 'hygrocast-i2c-'));
      dirs.push(devDir);
      await writeFile(join(devDir, 'i2c-252'), '');
      return openI2cBus(252, { devDir });
    },
  ],
];

describe.each(implementations)('I2cBus contract: %s', (_name, open) => {
  it('rejects out-of-range arguments with EINVAL and never throws synchronously', async () => {
    const bus = await open();
    const calls = [
      () => bus.read(0x02, 1),
      () => bus.read(0x78, 1),
      () => bus.read(0x44, 0),
      () => bus.readRegisters(0x76, 0xd0, 33),
      () => bus.writeRegister(0x76, 0xf4, 256),
      () => bus.write(0x44, new Uint8Array(33)),
    ];
    for (const call of calls) {
      let p: Promise<unknown> | undefined;
      expect(() => {
        p = call();
      }).not.toThrow();
      expect(await codeOf(p ?? Promise.resolve())).toBe('EINVAL');
    }
    await bus.close();
  });

  it('rejects transfers after close() with ECLOSED; close() is idempotent', async () => {
    const bus = await open();
    await bus.close();
    await bus.close();
    expect(await codeOf(bus.write(0x44, Uint8Array.of(0x24, 0x00)))).toBe('ECLOSED');
  });
});

describe('SimulatedI2cBus', () => {
  it('NACKs an empty address with EREMOTEIO and refuses two devices at one address', async () => {
    const bus = new SimulatedI2cBus().attach(0x44, new Sht3xSim());
    expect(await codeOf(bus.read(0x45, 6))).toBe('EREMOTEIO');
    expect(() => bus.attach(0x44, new Sht3xSim())).toThrow(/already in use/);
  });

  it('auto-increments the BME280 register pointer across a burst read', async () => {
    const bus = new SimulatedI2cBus().attach(0x76, new Bme280Sim({ clock: new ManualClock() }));
    const burst = await bus.readRegisters(0x76, 0xd0, 1);
    expect(burst[0]).toBe(0x60);
    // dig_T1 = 27504 = 0x6B70, little-endian at 0x88/0x89.
    expect([...(await bus.readRegisters(0x76, 0x88, 2))]).toEqual([0x70, 0x6b]);
  });

  it('bounds its transfer log', async () => {
    const bus = new SimulatedI2cBus({ maxLogEntries: 3 }).attach(0x76, new Bme280Sim({ clock: new ManualClock() }));
    for (let i = 0; i < 5; i++) await bus.writeRegister(0x76, 0xf5, i * 4);
    expect(bus.log).toEqual(['W 0x76 0xf5 0x08', 'W 0x76 0xf5 0x0c', 'W 0x76 0xf5 0x10']);
  });

  it('NACKs unknown SHT3x commands and reads with no data waiting', async () => {
    const bus = new SimulatedI2cBus().attach(0x44, new Sht3xSim({ clock: new ManualClock() }));
    expect(await codeOf(bus.write(0x44, Uint8Array.of(0x12, 0x34)))).toBe('EREMOTEIO');
    expect(await codeOf(bus.read(0x44, 6))).toBe('EREMOTEIO');
  });
});
