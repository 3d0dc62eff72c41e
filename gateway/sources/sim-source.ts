import { EventEmitter } from 'node:events';
import { LineDecoder, LineEncoder } from '../../firmware-bridge/codec.ts';
import { BridgeError } from '../../firmware-bridge/errors.ts';
import type { Message, RejectReason } from '../../firmware-bridge/messages.ts';
import { BridgeSession } from '../../firmware-bridge/session.ts';
import { SimulatedDevice } from '../../device-sim/simulator.ts';
import { systemClock } from '../clock.ts';
import type { Clock } from '../clock.ts';
import type { ReadingSource, SourceEvents } from './source.ts';

export interface SimSourceOptions {
  /** Sensor ids; each gets its own simulated device (own boot id and signal). Default ["sim-1"]. */
  sensors?: string[];
  /** Sampling interval of each sensor, in ms. Default 1000. */
  intervalMs?: number;
  /** Seed of the simulated signals; the same seed gives the same readings. Default 1. */
  seed?: number;
  /** Default systemClock. */
  clock?: Clock;
}

interface Channel {
  device: SimulatedDevice;
  encoder: LineEncoder;
  decoder: LineDecoder;
}

/**
 * In-process simulated sensors as a ReadingSource. Every message a device sends is encoded to
 * bytes by LineEncoder and decoded again by LineDecoder before it becomes a Reading, so the codec
 * runs exactly as on a serial link. Link: 'connecting' then 'up' on start, 'down' on stop.
 */
export class SimSource extends EventEmitter<SourceEvents> implements ReadingSource {
  readonly name: string;
  private readonly channels: Channel[];
  private running = false;

  constructor(options: SimSourceOptions = {}) {
    super();
    const sensors = options.sensors ?? ['sim-1'];
    if (sensors.length === 0) throw new BridgeError('EINVALID_OPTION', 'sim source needs at least one sensor id');
    const clock = options.clock ?? systemClock;
    const seed = options.seed ?? 1;
    this.name = `sim:${sensors.join(',')}`;
    this.channels = sensors.map((sensorId, i) => this.channel(new SimulatedDevice({ sensorIds: [sensorId], intervalMs: options.intervalMs ?? 1000, seed: seed * 7919 + i, clock }), clock));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.emit('link', 'connecting', 'starting simulated devices');
    for (const c of this.channels) c.device.start();
    this.emit('link', 'up', `${this.channels.length} simulated device(s)`);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    for (const c of this.channels) c.device.stop();
    this.running = false;
    this.emit('link', 'down', 'stopped');
  }

  rejectedCounts(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const c of this.channels) {
      for (const [reason, n] of Object.entries(c.decoder.counts())) total[reason] = (total[reason] ?? 0) + n;
    }
    return total;
  }

  /** The simulated devices, for tests and the dashboard's demo controls. */
  devices(): readonly SimulatedDevice[] {
    return this.channels.map((c) => c.device);
  }

  private channel(device: SimulatedDevice, clock: Clock): Channel {
    const encoder = new LineEncoder();
    const decoder = new LineDecoder();
    const session = new BridgeSession({ clock });
    device.on('message', (msg) => encoder.write(msg));
    encoder.pipe(decoder);
    encoder.on('error', (err) => this.emit('warning', `simulated device produced an unencodable message: ${err.message}`));
    decoder.on('data', (msg: Message) => {
      if (this.running) session.handle(msg);
    });
    decoder.on('rejected', (reason: RejectReason, line: string) => this.emit('rejected', reason, line));
    session.on('reading', (r) => this.emit('reading', r));
    session.on('warning', (m) => this.emit('warning', m));
    return { device, encoder, decoder };
  }
}
