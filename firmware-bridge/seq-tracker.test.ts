import { describe, expect, it } from 'vitest';
import { SeqTracker } from './seq-tracker.ts';

const A = 'AAAA0001';
const B = 'BBBB0002';

describe('SeqTracker (readings numbered by the device that never arrived)', () => {
  it('counts gaps between readings and up to a heartbeat, and nothing for a quiet device', () => {
    const t = new SeqTracker();
    t.greeted(A);
    for (let s = 0; s < 10; s++) expect(t.observe(A, s, 'reading')).toBe(0);
    expect(t.observe(A, 10, 'heartbeat')).toBe(0); // quiet: the next reading will be 10
    expect(t.observe(A, 10, 'heartbeat')).toBe(0);
    expect(t.observe(A, 13, 'reading')).toBe(3); // 10, 11, 12 missing
    expect(t.observe(A, 20, 'heartbeat')).toBe(6); // 14..19 sent, none arrived
    expect(t.observe(A, 20, 'reading')).toBe(0);
  });

  it('counts readings missing before the first one after a greeting, ignores duplicates and reordering', () => {
    const t = new SeqTracker();
    t.greeted(A);
    expect(t.observe(A, 2, 'reading')).toBe(2); // 0 and 1 missing
    expect(t.observe(A, 3, 'reading')).toBe(0);
    expect(t.observe(A, 1, 'reading')).toBe(0); // late or duplicate: nothing counted, nothing moved back
    expect(t.observe(A, 3, 'reading')).toBe(0);
    expect(t.observe(A, 4, 'reading')).toBe(0);
  });

  it('counts what the same boot sent while the link was down, once the boot is known again', () => {
    const t = new SeqTracker();
    t.greeted(A);
    for (let s = 0; s <= 20; s++) t.observe(A, s, 'reading');
    t.reconnected();
    expect(t.observe(null, 30, 'reading')).toBe(0); // held until the boot id is known
    expect(t.observe(null, 31, 'reading')).toBe(0);
    expect(t.bootKnown(A)).toBe(9); // 21..29
    expect(t.observe(A, 32, 'reading')).toBe(0);
    // Told before any message arrived: the next message is compared with the last one of before.
    t.reconnected();
    expect(t.bootKnown(A)).toBe(0);
    expect(t.observe(A, 40, 'heartbeat')).toBe(7); // 33..39
  });

  it('after an unseen reboot counts the new boot from 0; the first boot seen is only a baseline', () => {
    const t = new SeqTracker();
    expect(t.observe(null, 1000, 'reading')).toBe(0);
    expect(t.bootKnown(A)).toBe(0); // the gateway just started: nothing before counts
    expect(t.observe(A, 1003, 'reading')).toBe(2); // 1001, 1002
    t.reconnected();
    expect(t.observe(null, 5, 'reading')).toBe(0);
    expect(t.bootKnown(B)).toBe(5); // B sent 0..4 before this connection
    expect(t.observe(B, 6, 'reading')).toBe(0);
  });

  it('a greeting starts a new count; the seq wraps at 2^32', () => {
    const t = new SeqTracker();
    t.observe(null, 2 ** 32 - 3, 'reading'); // a long-running boot met at first contact
    t.bootKnown(A);
    expect(t.observe(A, 1, 'reading')).toBe(3); // 2^32 - 2, 2^32 - 1, 0
    t.greeted(B);
    expect(t.observe(B, 0, 'reading')).toBe(0);
    expect(t.observe(B, 2, 'reading')).toBe(1);
  });
});
