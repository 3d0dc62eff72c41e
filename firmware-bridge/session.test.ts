import { describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import type { Reading } from '../gateway/types.ts';
import { Backoff } from './backoff.ts';
import type { BridgeError } from './errors.ts';
import type { CommandMessage } from './messages.ts';
import { BridgeSession, UNKNOWN_BOOT_ID } from './session.ts';

function setup(max?: number) {
  const clock = new ManualClock();
  const session = new BridgeSession({ clock, maxOutstandingCommands: max });
  const readings: Reading[] = [];
  const warnings: string[] = [];
  const written: CommandMessage[] = [];
  session.on('reading', (r) => readings.push(r));
  session.on('warning', (w) => warnings.push(w));
  const send = (timeoutMs = 1000) => session.sendCommand('info', null, timeoutMs, (m) => written.push(m));
  return { clock, session, readings, warnings, written, send };
}

describe('BridgeSession', () => {
  it('stamps readings with the clock and the boot id of the last greeting', () => {
    const { clock, session, readings } = setup();
    session.handle({ type: 'R', sensorId: 's', seq: 3, uptimeMs: 30, rh: 50.5, tempC: 20, status: 0 });
    session.handle({ type: 'H', firmware: '1', model: 'M', bootId: 'ABCD0123', sensorIds: ['s'] });
    clock.advance(500);
    session.handle({ type: 'R', sensorId: 's', seq: 0, uptimeMs: 10, rh: 51, tempC: null, status: 0 });
    expect(readings).toEqual([
      { sensorId: 's', bootId: UNKNOWN_BOOT_ID, seq: 3, uptimeMs: 30, wallTimeMs: Date.UTC(2026, 0, 1), rh: 50.5, tempC: 20, quality: [] },
      { sensorId: 's', bootId: 'ABCD0123', seq: 0, uptimeMs: 10, wallTimeMs: Date.UTC(2026, 0, 1) + 500, rh: 51, tempC: null, quality: [] },
    ]);
  });

  it('reports readings of a boot that never arrived, across a reconnect once the info ack tells the boot', () => {
    const { session } = setup();
    const lost: [number, string][] = [];
    session.on('lost', (count, detail) => lost.push([count, detail]));
    const reading = (seq: number) => session.handle({ type: 'R', sensorId: 's', seq, uptimeMs: seq * 1000, rh: 50, tempC: null, status: 0 });
    session.handle({ type: 'H', firmware: '1', model: 'M', bootId: 'ABCD0123', sensorIds: ['s'] });
    reading(0);
    reading(1);
    reading(4);
    expect(lost).toEqual([[2, '2 readings of boot ABCD0123 never arrived (seq gap)']]);
    session.resetBootId(); // a reconnect
    reading(9);
    session.handle({ type: 'B', uptimeMs: 10_000, seq: 10 });
    session.adoptBootId('ABCD0123');
    expect(lost[1]).toEqual([4, '4 readings of boot ABCD0123 never arrived (seq gap)']); // 5..8
    session.handle({ type: 'B', uptimeMs: 12_000, seq: 11 });
    expect(lost[2]).toEqual([1, '1 reading of boot ABCD0123 never arrived (seq gap)']);
    expect(lost).toHaveLength(3);
  });

  it('notices a reboot whose greeting was lost from the uptime going back, so the new boot is not taken for the old one', () => {
    const { session, readings } = setup();
    const unseen: string[] = [];
    session.on('rebootUnseen', (previous) => unseen.push(previous));
    const reading = (seq: number, uptimeMs: number) => session.handle({ type: 'R', sensorId: 's', seq, uptimeMs, rh: 50, tempC: null, status: 0 });
    session.handle({ type: 'H', firmware: '1', model: 'M', bootId: 'AAAAAAAA', sensorIds: ['s'] });
    for (let seq = 0; seq < 50; seq++) reading(seq, 1000 * (seq + 1));
    // Readings of several sensors stamped a few ms out of order are not a reboot.
    reading(50, 49_600);
    expect(unseen).toEqual([]);
    // The device reset mid-line; its greeting never arrived; seq and uptime start again.
    reading(0, 1000);
    reading(1, 2000);
    expect(unseen).toEqual(['AAAAAAAA']);
    expect(readings.slice(-2).map((r) => r.bootId)).toEqual(['unknown', 'unknown']);
    session.adoptBootId('BBBBBBBB');
    reading(2, 3000);
    expect(readings.at(-1)?.bootId).toBe('BBBBBBBB');
    // A 32-bit millis() wrapping after 49.7 days is not a reboot either.
    reading(3, 2 ** 32 - 500);
    reading(4, 500);
    expect(unseen).toEqual(['AAAAAAAA']);
    expect(readings.at(-1)?.bootId).toBe('BBBBBBBB');
  });

  it('turns a non-zero status into sensor_error with null values', () => {
    const { session, readings } = setup();
    session.handle({ type: 'R', sensorId: 's', seq: 1, uptimeMs: 1, rh: 45.1, tempC: 20, status: 3 });
    expect(readings[0]).toMatchObject({ rh: null, tempC: null, quality: ['sensor_error'] });
  });

  it('resolves a command on its ok ack and rejects on an err ack', async () => {
    const { session, written, send } = setup();
    const ok = send();
    const refused = send();
    expect(written.map((m) => m.id)).toEqual([1, 2]);
    session.handle({ type: 'A', id: 2, ok: false, payload: 'nope' });
    session.handle({ type: 'A', id: 1, ok: true, payload: 'fw=1' });
    await expect(ok).resolves.toEqual({ type: 'A', id: 1, ok: true, payload: 'fw=1' });
    await expect(refused).rejects.toMatchObject({ code: 'ECOMMAND_REFUSED' });
  });

  it('rejects with ETIMEDOUT after the timeout and warns about the late ack', async () => {
    const { clock, session, warnings, send } = setup();
    const p = send(2000);
    clock.advance(1999);
    session.handle({ type: 'B', uptimeMs: 1, seq: 0 });
    clock.advance(1);
    const err = (await p.catch((e: unknown) => e)) as BridgeError;
    expect(err.code).toBe('ETIMEDOUT');
    session.handle({ type: 'A', id: 1, ok: true, payload: '' });
    expect(warnings).toEqual(['ack for unknown or expired command id 1']);
    expect(session.outstandingCommands()).toBe(0);
  });

  it('bounds outstanding commands and fails them all on demand', async () => {
    const { session, send } = setup(2);
    const a = send();
    const b = send();
    await expect(send()).rejects.toMatchObject({ code: 'ETOO_MANY_COMMANDS' });
    session.failAll('ESTOPPED', 'test');
    await expect(a).rejects.toMatchObject({ code: 'ESTOPPED' });
    await expect(b).rejects.toMatchObject({ code: 'ESTOPPED' });
  });

  it('rejects an argument v1 cannot carry without writing anything', async () => {
    const { session, written } = setup();
    await expect(session.sendCommand('interval', 5, 1000, (m) => written.push(m))).rejects.toMatchObject({ code: 'EINVALID_MESSAGE' });
    expect(written).toEqual([]);
  });
});

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap and restarts after reset', () => {
    const b = new Backoff(250, 5000);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    b.reset();
    expect(b.next()).toBe(250);
    expect(() => new Backoff(0, 10)).toThrow(/initialMs/);
  });
});
