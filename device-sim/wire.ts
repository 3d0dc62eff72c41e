import type { Duplex, Transform } from 'node:stream';
import { LineDecoder, LineEncoder } from '../firmware-bridge/codec.ts';
import type { Message, RejectReason } from '../firmware-bridge/messages.ts';

/** What connectDevice needs of a device (SimulatedDevice, ReplayDevice): its outgoing messages and a way to hand it commands. */
export interface WireDevice {
  on(event: 'message', listener: (msg: Message) => void): unknown;
  off(event: 'message', listener: (msg: Message) => void): unknown;
  handle(msg: Message): void;
}

export interface DeviceWire {
  decoder: LineDecoder;
  /** Unwires the device from the stream (does not close the stream). */
  disconnect(): void;
}

/**
 * Connects a SimulatedDevice to a byte stream (a serial port, a socket) exactly as firmware
 * would: its messages go through LineEncoder to the stream, bytes from the stream go through
 * LineDecoder to the device. Lines the device cannot decode are passed to `onRejected`.
 * Stream errors go to `onError` (the caller owns the stream, so it decides what an error means).
 */
export function connectDevice(
  device: WireDevice,
  stream: Duplex,
  onError: (err: Error) => void,
  onRejected: (reason: RejectReason, line: string) => void = () => {},
  /** Messages in (objectMode), bytes out; default a LineEncoder. A FaultInjector (faults.ts) goes here. */
  encoder: Transform = new LineEncoder(),
): DeviceWire {
  const decoder = new LineDecoder();
  const onMessage = (msg: Message): void => {
    encoder.write(msg);
  };
  const onBytes = (chunk: Buffer): void => {
    if (!stream.destroyed && stream.writable) stream.write(chunk);
  };
  const onData = (chunk: Buffer): void => {
    decoder.write(chunk);
  };
  device.on('message', onMessage);
  encoder.on('data', onBytes);
  encoder.on('error', onError);
  decoder.on('data', (msg: Message) => device.handle(msg));
  decoder.on('rejected', onRejected);
  stream.on('data', onData);
  stream.on('error', onError);
  return {
    decoder,
    disconnect: () => {
      device.off('message', onMessage);
      stream.off('data', onData);
      stream.off('error', onError);
      encoder.destroy();
      decoder.destroy();
    },
  };
}
