const SEQ_MOD = 2 ** 32;

/**
 * Counts readings the device numbered but the gateway never accepted (protocol §4: a reading's
 * `seq` counts every reading of a boot, and a heartbeat carries the seq the next reading will
 * have), so a link that drops or corrupts readings is told apart from a quiet device.
 *
 * A gap is counted within one boot only, including across a reconnect of the same boot (the
 * readings sent while the cable was out). A device that rebooted unseen while the link was down
 * lost the readings of its new boot before the first one received (its seq starts at 0); what
 * the old boot sent after the last one received cannot be known and is not counted. The first
 * boot seen since the gateway started is the baseline: nothing before it counts as lost.
 * Messages that arrive before the connection's boot id is known are held (their first seq and
 * the next expected after them) and counted once it is.
 */
export class SeqTracker {
  /** The boot `next` belongs to; null before any boot was known. */
  private boot: string | null = null;
  /** The seq the next reading of `boot` should carry; null until one message of it was seen. */
  private next: number | null = null;
  /** This connection's messages of a not-yet-known boot. */
  private held: { first: number; next: number } | null = null;

  /** A new connection: the device may have rebooted meanwhile, so its boot must be told again. */
  reconnected(): void {
    this.held = null;
  }

  /** A greeting: boot `bootId` has just started, its first reading is seq 0. */
  greeted(bootId: string): void {
    this.held = null;
    this.boot = bootId;
    this.next = 0;
  }

  /** The connection's boot id learnt from the device (`info` ack). Returns the readings lost. */
  bootKnown(bootId: string): number {
    const held = this.held;
    this.held = null;
    if (this.boot !== bootId) {
      // First contact: a baseline. Otherwise the device rebooted unseen: its new boot began at 0.
      this.next = this.boot === null ? null : 0;
      this.boot = bootId;
    }
    if (!held) return 0;
    const lost = this.next === null ? 0 : gap(this.next, held.first);
    this.next = held.next;
    return lost;
  }

  /**
   * A reading (`next` = seq + 1 afterwards) or heartbeat (`next` = seq) of the boot the session
   * stamps it with (null: not known yet on this connection). Returns the readings lost since the last message; a seq behind the
   * expected one (a duplicate, a reordered line) counts nothing and moves nothing back.
   */
  observe(bootId: string | null, seq: number, kind: 'reading' | 'heartbeat'): number {
    const after = kind === 'reading' ? (seq + 1) % SEQ_MOD : seq;
    if (bootId === null) {
      if (!this.held) this.held = { first: seq, next: after };
      else if (gap(this.held.next, seq) < SEQ_MOD / 2) this.held.next = after;
      return 0;
    }
    if (bootId !== this.boot) this.bootKnown(bootId);
    if (this.next === null) {
      this.next = after;
      return 0;
    }
    const lost = gap(this.next, seq);
    if (lost >= SEQ_MOD / 2) return 0;
    this.next = after;
    return lost;
  }
}

/** Steps from `from` forward to `to` on the 32-bit seq circle. */
function gap(from: number, to: number): number {
  return (((to - from) % SEQ_MOD) + SEQ_MOD) % SEQ_MOD;
}
