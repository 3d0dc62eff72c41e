import { describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import type { AckMessage, HelloMessage, Message, ReadingMessage } from '../firmware-bridge/messages.ts';
import { encodeMessage } from '../firmware-bridge/protocol.ts';
import { SimulatedDevice } from './simulator.ts';

function setup(options: Partial<ConstructorParameters<typeof SimulatedDevice>[0]> = {}) {
  const clock = new ManualClock();
  const device = new SimulatedDevice({ sensorIds: ['sim-1', 'sim-2'], clock, intervalMs: 1000, heartbeatMs: 10_000, seed: 4, ...options });
  const sent: Message[] = [];
  device.on('message', (m) => {
    encodeMessage(m); // everything the device says must be valid on the wire
    sent.push(m);
  });
  const of = <T extends Message['type']>(type: T) => sent.filter((m): m is Extract<Message, { type: T }> => m.type === type);
  return { clock, device, sent, of };
}

describe('SimulatedDevice', () => {
  it('greets on boot, then sends one reading per sensor per interval and heartbeats', () => {
    const { clock, device, sent, of } = setup();
    device.start();
    expect(sent).toHaveLength(1);
    const hello = sent[0] as HelloMessage;
    expect(hello).toMatchObject({ type: 'H', sensorIds: ['sim-1', 'sim-2'], model: 'SIM' });
    expect(hello.bootId).toMatch(/^[0-9A-F]{8}$/);
    clock.advance(999);
    expect(of('R')).toHaveLength(0);
    clock.advance(1);
    expect(of('R').map((r) => [r.sensorId, r.seq, r.uptimeMs])).toEqual([['sim-1', 0, 1000], ['sim-2', 1, 1000]]);
    clock.advance(9000);
    const readings = of('R');
    expect(readings).toHaveLength(20);
    expect(readings.map((r) => r.seq)).toEqual([...Array(20).keys()]);
    // Readings every second leave no silence for a heartbeat to fill.
    expect(of('B')).toEqual([]);
    for (const r of readings) {
      expect(r.status).toBe(0);
      expect(r.rh).toBeGreaterThan(0);
      expect(r.rh).toBeLessThan(100);
    }
    device.stop();
    clock.advance(10_000);
    expect(of('R')).toHaveLength(20);
  });

  it('fills every silence of heartbeatMs with a heartbeat, whatever the reading interval', () => {
    const { clock, device, of } = setup({ sensorIds: ['s'], intervalMs: 60_000, heartbeatMs: 2000 });
    device.start();
    clock.advance(59_999);
    expect(of('R')).toHaveLength(0);
    expect(of('B').map((b) => b.uptimeMs)).toEqual(Array.from({ length: 29 }, (_, i) => 2000 * (i + 1)));
    clock.advance(1);
    expect(of('R')).toHaveLength(1);
    clock.advance(1999);
    expect(of('B')).toHaveLength(29);
    clock.advance(1);
    expect(of('B').at(-1)).toEqual({ type: 'B', uptimeMs: 62_000, seq: 1 });
  });

  it('is deterministic for a seed', () => {
    const a = setup();
    const b = setup();
    a.device.start();
    b.device.start();
    a.clock.advance(30_000);
    b.clock.advance(30_000);
    expect(a.sent).toEqual(b.sent);
  });

  it('answers info, interval and cal with acks, and applies them', () => {
    const { clock, device, of } = setup({ sensorIds: ['s'] });
    device.start();
    device.handle({ type: 'C', id: 1, name: 'info', arg: null });
    device.handle({ type: 'C', id: 2, name: 'interval', arg: 250 });
    device.handle({ type: 'C', id: 3, name: 'interval', arg: 50 });
    const acks = of('A');
    expect(acks.map((a: AckMessage) => [a.id, a.ok])).toEqual([[1, true], [2, true], [3, false]]);
    expect(acks[0]?.payload).toContain(`boot=${device.currentBootId}`);
    expect(acks[0]?.payload).toContain('interval=1000');
    clock.advance(1000);
    expect(of('R')).toHaveLength(4);

    const before = setup({ sensorIds: ['s'] });
    before.device.start();
    before.clock.advance(1000);
    const after = setup({ sensorIds: ['s'] });
    after.device.start();
    after.device.handle({ type: 'C', id: 9, name: 'cal', arg: -2.5 });
    after.clock.advance(1000);
    expect(after.of('A')[0]).toEqual({ type: 'A', id: 9, ok: true, payload: 'cal=-2.50' });
    const raw = before.of('R')[0] as ReadingMessage;
    const calibrated = after.of('R')[0] as ReadingMessage;
    expect(calibrated.rh).toBeCloseTo((raw.rh ?? 0) - 2.5, 9);
  });

  it('reboot acks, then greets with a new boot id and restarts seq at 0', () => {
    const { clock, device, sent, of } = setup({ rebootDelayMs: 100 });
    device.start();
    clock.advance(3000);
    const firstBoot = device.currentBootId;
    device.handle({ type: 'C', id: 5, name: 'reboot', arg: null });
    expect(sent.at(-1)).toEqual({ type: 'A', id: 5, ok: true, payload: 'rebooting' });
    clock.advance(100);
    const hellos = of('H');
    expect(hellos).toHaveLength(2);
    expect(hellos[1]?.bootId).not.toBe(firstBoot);
    expect(device.currentBootId).toBe(hellos[1]?.bootId);
    clock.advance(1000);
    const last = of('R').slice(-2);
    expect(last.map((r) => [r.seq, r.uptimeMs])).toEqual([[0, 1000], [1, 1000]]);
  });

  it('reports sensor failures with status 1 and no values when asked to', () => {
    const { clock, device, of } = setup({ failureRate: 1 });
    device.start();
    clock.advance(1000);
    expect(of('R').map((r) => [r.status, r.rh, r.tempC])).toEqual([[1, null, null], [1, null, null]]);
  });

  it('refuses bad options with a message naming the option', () => {
    const clock = new ManualClock();
    expect(() => new SimulatedDevice({ sensorIds: [], clock })).toThrow(/sensorIds/);
    expect(() => new SimulatedDevice({ sensorIds: ['bad id'], clock })).toThrow(/bad id/);
    expect(() => new SimulatedDevice({ sensorIds: ['a'], clock, intervalMs: 0 })).toThrow(/intervalMs/);
  });
});
