import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bme280 } from './bme280.ts';
import type { I2cBus } from './bus.ts';
import { I2cError } from './errors.ts';
import { openI2cBus } from './i2c-bus.ts';
import { OpQueue } from './op-queue.ts';
import { Sht3x } from './sht3x.ts';

async function errorOf(p: Promise<unknown>): Promise<I2cError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(I2cError);
  return err as I2cError;
}

describe('openI2cBus (the real i2c-bus module, no hardware needed)', () => {
  let devDir = '';
  beforeAll(async () => {
    devDir = await mkdtemp(join(tmpdir(), 'hygrocast-i2c-'));
  });
  afterAll(async () => {
    await rm(devDir, { recursive: true, force: true });
  });

  it('rejects a missing device node with ENOENT and says how to enable I2C', async () => {
    const err = await errorOf(openI2cBus(7, { devDir }));
    expect(err.code).toBe('ENOENT');
    expect(err.errno).toBe('ENOENT');
    expect(err.message).toMatch(/i2c-7.*raspi-config nonint do_i2c 0/);
  });

  it('rejects a bad bus number with EINVAL', async () => {
    expect((await errorOf(openI2cBus(-1))).code).toBe('EINVAL');
    expect((await errorOf(openI2cBus(1.5))).code).toBe('EINVAL');
  });

  describe('on an opened bus whose kernel device is absent', () => {
    // Bus 250: the node check passes against a file in devDir, while the native module opens
    // /dev/i2c-250, which exists on no Pi, so no traffic reaches any real device.
    let bus: I2cBus;
    beforeAll(async () => {
      await writeFile(join(devDir, 'i2c-250'), '');
      bus = await openI2cBus(250, { devDir });
    });
    afterAll(async () => {
      await bus.close();
    });

    it('validates arguments before touching the bus', async () => {
      expect((await errorOf(bus.read(0x80, 6))).message).toMatch(/address 128/);
      expect((await errorOf(bus.read(0x44, 33))).message).toMatch(/length 33/);
      expect((await errorOf(bus.writeRegister(0x76, 0x100, 0))).code).toBe('EINVAL');
      expect((await errorOf(bus.write(0x44, new Uint8Array(0)))).code).toBe('EINVAL');
    });

    it('wraps kernel errors with their errno name', async () => {
      const err = await errorOf(bus.read(0x44, 6));
      expect(err.code).toBe('ENOENT');
      expect(err.message).toMatch(/i2c-250: read 6 bytes from 0x44/);
    });

    it('rejects use after close with ECLOSED', async () => {
      await writeFile(join(devDir, 'i2c-251'), '');
      const other = await openI2cBus(251, { devDir });
      await other.close();
      expect((await errorOf(other.readRegisters(0x76, 0xd0, 1))).code).toBe('ECLOSED');
    });
  });
});

describe('OpQueue', () => {
  it('runs operations one at a time in call order and bounds the backlog with EBUSY', async () => {
    const q = new OpQueue(2);
    const order: string[] = [];
    let release = (): void => undefined;
    const first = q.run(
      () =>
        new Promise<void>((resolve) => {
          order.push('first started');
          release = resolve;
        }),
    );
    const second = q.run(async () => {
      order.push('second started');
    });
    expect((await errorOf(q.run(async () => undefined))).code).toBe('EBUSY');
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['first started']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first started', 'second started']);
    await expect(q.run(async () => 42)).resolves.toBe(42);
  });
});

// Hardware in the loop, as serialport does with TEST_PORT: runs only when a real bus is named.
const hilBus = process.env.HYGROCAST_TEST_I2C_BUS;
const hilDriver = process.env.HYGROCAST_TEST_I2C_DRIVER ?? 'sht3x';
const hilAddress = process.env.HYGROCAST_TEST_I2C_ADDRESS;

describe.skipIf(hilBus === undefined)(
  'hardware in the loop (skipped: set HYGROCAST_TEST_I2C_BUS=1, and optionally HYGROCAST_TEST_I2C_DRIVER=sht3x|bme280 and HYGROCAST_TEST_I2C_ADDRESS=0x44, to run against a real sensor)',
  () => {
    it(`measures plausible values from a real ${hilDriver}`, async () => {
      const bus = await openI2cBus(Number(hilBus));
      try {
        const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
        const options = { sleep, ...(hilAddress ? { address: Number(hilAddress) } : {}) };
        const driver = hilDriver === 'bme280' ? new Bme280(bus, options) : new Sht3x(bus, options);
        await driver.init();
        for (let i = 0; i < 3; i++) {
          const m = await driver.measure();
          expect(m.rh).toBeGreaterThanOrEqual(0);
          expect(m.rh).toBeLessThanOrEqual(100);
          expect(m.tempC).toBeGreaterThan(-40);
          expect(m.tempC).toBeLessThan(85);
          if (driver.kind === 'bme280') {
            expect(m.pressurePa).toBeGreaterThan(30_000);
            expect(m.pressurePa).toBeLessThan(110_000);
          }
        }
      } finally {
        await bus.close();
      }
    });
  },
);
