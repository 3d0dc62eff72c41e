import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, Heartbeat } from './heartbeat.ts';
import type { HeartbeatTarget } from './heartbeat.ts';

class Target implements HeartbeatTarget {
  pings = 0;
  terminated = false;
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
  }
}

function setup() {
  const clock = new ManualClock();
  const dead: Target[] = [];
  const hb = new Heartbeat<Target>(clock, DEFAULT_HEARTBEAT_INTERVAL_MS, (t) => dead.push(t));
  hb.start();
  return { clock, hb, dead };
}

describe('Heartbeat', () => {
  it('pings every 30 s and keeps targets that answer', () => {
    const { clock, hb, dead } = setup();
    const t = new Target();
    hb.track(t);
    clock.advance(29_999);
    expect(t.pings).toBe(0);
    for (let i = 1; i <= 5; i++) {
      clock.advance(30_000);
      expect(t.pings).toBe(i);
      hb.pong(t);
    }
    expect(t.terminated).toBe(false);
    expect(dead).toEqual([]);
  });

  it('terminates a target that missed a pong, at the next interval', () => {
    const { clock, hb, dead } = setup();
    const silent = new Target();
    const alive = new Target();
    hb.track(silent);
    hb.track(alive);
    clock.advance(30_000);
    hb.pong(alive);
    expect(silent.terminated).toBe(false);
    clock.advance(30_000);
    expect(silent.terminated).toBe(true);
    expect(alive.terminated).toBe(false);
    expect(dead).toEqual([silent]);
    expect(hb.size).toBe(1);
  });

  it('forgets untracked targets and stops on stop()', () => {
    const { clock, hb, dead } = setup();
    const t = new Target();
    hb.track(t);
    hb.untrack(t);
    hb.pong(t); // a late pong must not re-add it
    clock.advance(90_000);
    expect(t.pings).toBe(0);
    const u = new Target();
    hb.track(u);
    hb.stop();
    clock.advance(90_000);
    expect(u.pings).toBe(0);
    expect(dead).toEqual([]);
  });
});
