import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { BUILD_DATE_MS, ClockTrust } from './clock-trust.ts';

describe('ClockTrust', () => {
  it('always and never do not ask the probe', async () => {
    const clock = new ManualClock(0);
    let asked = 0;
    const probe = async (): Promise<boolean | null> => (asked++, true);
    const always = new ClockTrust({ mode: 'always', clock, probe });
    const never = new ClockTrust({ mode: 'never', clock, probe });
    await always.start();
    await never.start();
    expect(always.isTrusted()).toBe(true);
    expect(never.isTrusted()).toBe(false);
    expect(asked).toBe(0);
  });

  it('auto follows the NTP answer, polls until synchronised, then latches and stops polling', async () => {
    const clock = new ManualClock(BUILD_DATE_MS + 1000);
    const answers: Array<boolean | null> = [false, false, true, false];
    let asked = 0;
    const trustedAt: number[] = [];
    const trust = new ClockTrust({
      mode: 'auto',
      clock,
      checkIntervalMs: 1000,
      probe: async () => answers[asked++] ?? false,
      onTrusted: (ms) => trustedAt.push(ms),
    });
    await trust.start();
    expect(trust.isTrusted()).toBe(false); // NTP says no, even though the clock is after the build date
    clock.advance(1000);
    await Promise.resolve();
    expect(trust.isTrusted()).toBe(false);
    clock.advance(1000);
    await Promise.resolve();
    expect(trust.isTrusted()).toBe(true);
    expect(trustedAt).toEqual([clock.now()]);
    clock.advance(10_000);
    await Promise.resolve();
    expect(asked).toBe(3);
    expect(await trust.check()).toBe(true);
  });

  it('auto without an NTP answer trusts a clock at or after the build date', async () => {
    const clock = new ManualClock(BUILD_DATE_MS - 60_000);
    const trust = new ClockTrust({ mode: 'auto', clock, probe: () => Promise.reject(new Error('no timedatectl')) });
    await trust.start();
    expect(trust.isTrusted()).toBe(false);
    clock.jumpWall(60_000);
    expect(await trust.check()).toBe(true);
    trust.stop();
  });
});
