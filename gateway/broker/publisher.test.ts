import type { Aedes } from 'aedes';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../types.ts';
import { discoveryMessages } from './discovery.ts';
import { MAX_TRACKED_SENSORS, MqttPublisher } from './publisher.ts';

const reading = (sensorId: string): Reading => ({ sensorId, bootId: 'b1', seq: 1, uptimeMs: 1000, wallTimeMs: Date.UTC(2026, 0, 1), rh: 45.5, tempC: 21, quality: [] });

/** An in-process broker that records the topics of retained publishes. */
function recordingAedes(): { aedes: Pick<Aedes, 'publish'>; topics: string[] } {
  const topics: string[] = [];
  return {
    topics,
    aedes: {
      publish: (packet, done) => {
        if (packet.retain) topics.push(packet.topic);
        done?.(undefined);
      },
    },
  };
}

async function republished(publisher: MqttPublisher, recorded: string[]): Promise<Set<string>> {
  recorded.length = 0;
  await publisher.republish();
  return new Set(recorded);
}

describe('MqttPublisher.republish', () => {
  it('restores every topic of every live sensor, with several alert rules on many sensors', async () => {
    const { aedes, topics } = recordingAedes();
    const publisher = new MqttPublisher(aedes);
    await publisher.online();
    // 24 alerts (12 rules, both directions) on 200 sensors: 58 retained topics each (30 discovery configs,
    // 3 reading and 25 alert topics), 11,601 in all with the bridge state.
    const alertIds = Array.from({ length: 12 }, (_, i) => [`above-${60 + i}`, `below-${20 + i}`]).flat();
    for (let s = 0; s < 200; s++) {
      const sensorId = `s${s}`;
      await publisher.publishMessages(discoveryMessages({ prefix: 'hygrocast', swVersion: '1' }, sensorId, alertIds), sensorId);
      await publisher.publishReading(reading(sensorId));
      const changed = alertIds.map((id) => ({ state: 'off' as const, id }));
      await publisher.publishAlerts(sensorId, { state: 'off', active: [] }, changed);
    }
    const published = new Set(topics);
    expect(published.size).toBe(1 + 200 * 58);

    expect(await republished(publisher, topics)).toEqual(published);
  });

  it('forgets whole sensors, least recently published first, beyond MAX_TRACKED_SENSORS', async () => {
    const { aedes, topics } = recordingAedes();
    const publisher = new MqttPublisher(aedes);
    await publisher.online();
    for (let s = 0; s <= MAX_TRACKED_SENSORS; s++) {
      await publisher.publishReading(reading(`s${s}`));
      if (s === 1) await publisher.publishReading(reading('s0')); // s0 stays recent, so s1 is the oldest
    }

    const again = await republished(publisher, topics);
    expect(again.size).toBe(1 + 3 * MAX_TRACKED_SENSORS);
    expect([...again].filter((t) => t.startsWith('hygrocast/s1/') || t === 'hygrocast/s1')).toEqual([]);
    expect(again).toContain('hygrocast/bridge/state');
    for (const t of ['hygrocast/s0', 'hygrocast/s0/humidity', 'hygrocast/s0/temperature', `hygrocast/s${MAX_TRACKED_SENSORS}/humidity`]) expect(again).toContain(t);
  });
});

describe('MqttPublisher.publishForecastError', () => {
  it('publishes the report retained on <prefix>/<sensor>/forecast_error, refuses a bad sensor id, and is silent once offline', async () => {
    const published: { topic: string; payload: string; retain: boolean }[] = [];
    const aedes: Pick<Aedes, 'publish'> = {
      publish: (packet, done) => {
        published.push({ topic: packet.topic, payload: String(packet.payload), retain: packet.retain });
        done?.(undefined);
      },
    };
    const publisher = new MqttPublisher(aedes, { prefix: 'home/rh' });
    await publisher.online();
    const report = { sensor: 'cellar', window_s: 86_400, updated_at: '2026-01-01T00:00:00.000Z', horizons: [{ horizon_s: 3600, mae: 1.07, n: 120, coverage: 0.775 }] };
    await publisher.publishForecastError(report);
    expect(published.at(-1)).toEqual({ topic: 'home/rh/cellar/forecast_error', payload: JSON.stringify(report), retain: true });
    await expect(publisher.publishForecastError({ ...report, sensor: 'bad/id' })).rejects.toMatchObject({ code: 'INVALID_SENSOR_ID' });
    published.length = 0;
    await publisher.republish();
    expect(published.map((m) => m.topic)).toContain('home/rh/cellar/forecast_error');
    await publisher.offline();
    published.length = 0;
    await publisher.publishForecastError(report);
    expect(published).toEqual([]);
  });
});
