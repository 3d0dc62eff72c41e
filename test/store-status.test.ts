import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.ts';

/** The gateway, as a process, publishes its store counters retained on <prefix>/bridge/store. */
describe('store status on the embedded broker', () => {
  let gw: GatewayProcess | null = null;
  let client: mqtt.MqttClient | null = null;
  afterEach(async () => {
    await client?.endAsync();
    client = null;
    gw?.cleanup();
    gw = null;
  });

  it('a subscriber gets the retained status with eviction counters and the write error', async () => {
    gw = await startGatewayProcess({
      sources: [{ type: 'sim', sensors: ['st-1'], intervalMs: 100 }],
      store: { retentionBytes: 4 * 1024 * 1024 },
      dashboard: { enabled: false },
      forecast: { enabled: false },
    });
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`);
    const message = new Promise<{ topic: string; payload: Record<string, unknown>; retain: boolean }>((resolve) => {
      client?.on('message', (topic, payload, packet) => resolve({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain }));
    });
    await client.subscribeAsync('hygrocast/bridge/store');
    const got = await message;
    expect(got.retain).toBe(true);
    expect(got.payload).toMatchObject({
      retention_bytes: 4 * 1024 * 1024,
      evictions: { thinned: 0, dropped_synced: 0, dropped_unsynced: 0 },
      write_error: null,
    });
    expect(typeof got.payload.readings).toBe('number');
  }, 30_000);
});
