import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { Reading } from '../types.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { discoveryMessages, nodeIdOf, type DiscoveryConfig } from './discovery.ts';
import { BIRTH_REPUBLISH_INTERVAL_MS, HomeAssistantDiscovery } from './home-assistant.ts';
import { MqttPublisher } from './publisher.ts';

const silent = pino({ level: 'silent' });
const reading: Reading = { sensorId: 'kitchen', bootId: 'b1', seq: 1, uptimeMs: 1000, wallTimeMs: Date.UTC(2026, 0, 1), rh: 45.5, tempC: 21, quality: [] };

function configs(prefix = 'hygrocast', discoveryPrefix?: string, alertIds?: (sensorId: string) => readonly string[]): Map<string, DiscoveryConfig> {
  const messages = discoveryMessages({ prefix, discoveryPrefix, swVersion: '1.2.3' }, 'kitchen', alertIds?.('kitchen'));
  return new Map(messages.map((m) => [m.topic, JSON.parse(m.payload) as DiscoveryConfig]));
}

describe('Home Assistant discovery payloads', () => {
  it('publish one retained config per entity on <discovery_prefix>/<component>/<node_id>/<object_id>/config', () => {
    const messages = discoveryMessages({ prefix: 'hygrocast', swVersion: '1.2.3' }, 'kitchen');
    expect(messages.every((m) => m.retain)).toBe(true);
    expect(messages.map((m) => m.topic).sort()).toEqual([
      'homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert/config',
      'homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_link/config',
      'homeassistant/sensor/hygrocast_hygrocast/kitchen_forecast_1h/config',
      'homeassistant/sensor/hygrocast_hygrocast/kitchen_forecast_6h/config',
      'homeassistant/sensor/hygrocast_hygrocast/kitchen_humidity/config',
      'homeassistant/sensor/hygrocast_hygrocast/kitchen_temperature/config',
    ]);
    expect([...configs('site/a', 'ha').keys()].every((t) => /^ha\/(sensor|binary_sensor)\/hygrocast_site_a\/kitchen_[a-z0-9_]+\/config$/.test(t))).toBe(true);
  });

  it('carry the fields HA MQTT discovery requires, with availability on the last will and one device', () => {
    const all = configs('hygrocast', undefined, () => ['above-70', 'below-30']);
    const uniqueIds = new Set<string>();
    for (const [topic, c] of all) {
      // Every entity: name, unique_id (needed for the device registry), state_topic, availability, device.
      expect(c.name, topic).toMatch(/^kitchen /);
      expect(c.state_topic, topic).toMatch(/^hygrocast\/kitchen(\/(forecast|link|alert|alert\/above-70|alert\/below-30))?$/);
      const lastWill = { topic: 'hygrocast/bridge/state', payload_available: 'online', payload_not_available: 'offline' };
      if (topic.includes('_forecast_')) {
        // Unavailable while the gateway is offline OR refuses to forecast (the topic says available: false).
        expect(c, topic).not.toHaveProperty('availability_topic');
        expect(c).toMatchObject({ availability_mode: 'all', availability: [lastWill, { topic: 'hygrocast/kitchen/forecast', payload_available: 'online', payload_not_available: 'offline' }] });
      } else {
        expect(c).toMatchObject({ availability_topic: lastWill.topic, payload_available: 'online', payload_not_available: 'offline' });
      }
      expect(c.device).toEqual({ identifiers: [nodeIdOf('hygrocast')], name: 'hygrocast (hygrocast)', model: 'hygrocast edge gateway', manufacturer: 'hygrocast', sw_version: '1.2.3' });
      uniqueIds.add(c.unique_id);
      if (topic.includes('/binary_sensor/')) {
        expect(c.payload_on, topic).toBeTypeOf('string');
        expect(c.payload_off, topic).toBeTypeOf('string');
        expect(c.payload_on).not.toBe(c.payload_off);
      } else {
        expect(c, topic).toMatchObject({ state_class: 'measurement' });
        expect(['humidity', 'temperature']).toContain(c.device_class);
        expect(c.unit_of_measurement).toBe(c.device_class === 'temperature' ? '°C' : '%');
      }
    }
    expect(uniqueIds.size).toBe(all.size);
    const forecast = all.get('homeassistant/sensor/hygrocast_hygrocast/kitchen_forecast_6h/config')!;
    expect(forecast.state_topic).toBe('hygrocast/kitchen/forecast');
    expect(forecast.value_template).toContain("selectattr('horizon_s', 'eq', 21600)");
    expect(all.get('homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert/config')).toMatchObject({ state_topic: 'hygrocast/kitchen/alert', payload_on: 'on', payload_off: 'off' });
  });

  it('add one binary_sensor per alert of the sensor beside the combined one, each with its own unique_id and topic', () => {
    const all = configs('hygrocast', undefined, (id) => (id === 'kitchen' ? ['above-70', 'damp'] : []));
    const alerts = [...all].filter(([topic]) => topic.includes('_alert'));
    expect(alerts.map(([topic, c]) => [topic, c.name, c.unique_id, c.state_topic, c.json_attributes_topic])).toEqual([
      ['homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert/config', 'kitchen humidity alert', 'hygrocast_hygrocast_kitchen_alert', 'hygrocast/kitchen/alert', 'hygrocast/kitchen/alert'],
      ['homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert_above-70/config', 'kitchen humidity alert above-70', 'hygrocast_hygrocast_kitchen_alert_above-70', 'hygrocast/kitchen/alert/above-70', 'hygrocast/kitchen/alert/above-70'],
      ['homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert_damp/config', 'kitchen humidity alert damp', 'hygrocast_hygrocast_kitchen_alert_damp', 'hygrocast/kitchen/alert/damp', 'hygrocast/kitchen/alert/damp'],
    ]);
    for (const [, c] of alerts) expect(c).toMatchObject({ value_template: '{{ value_json.state }}', payload_on: 'on', payload_off: 'off', device_class: 'problem' });
    expect(configs().size).toBe(6); // no alerts configured: the combined entity only
  });

  it('give every entity one form of availability, never both (HA rejects a config with both)', () => {
    const all = configs('hygrocast', undefined, () => ['above-70', 'below-30']);
    for (const [topic, c] of all) {
      const forms = ['availability_topic', 'availability'].filter((key) => key in c);
      expect(forms, topic).toHaveLength(1);
      if ('availability' in c) expect(c, topic).not.toHaveProperty('payload_available');
    }
  });

  it('refuse a sensor id that is not a topic level', () => {
    expect(() => discoveryMessages({ prefix: 'hygrocast', swVersion: '1' }, 'a/b')).toThrow(expect.objectContaining({ code: 'INVALID_SENSOR_ID' }));
  });
});

describe('HomeAssistantDiscovery.announce', () => {
  it("asks for the sensor's alert ids once and announces their entities", async () => {
    const sent: string[] = [];
    const publisher = { publishMessages: async (m: readonly { topic: string }[]) => void sent.push(...m.map((x) => x.topic)), republish: async () => {} };
    const alertIds = vi.fn((_sensorId: string) => ['above-70']);
    const aedes = { subscribe: () => {}, unsubscribe: () => {} };
    const ha = new HomeAssistantDiscovery(aedes, publisher, { prefix: 'hygrocast', swVersion: '1', alertIds, logger: silent });
    await ha.announce('kitchen');
    expect(alertIds).toHaveBeenCalledTimes(1);
    expect(sent).toContain('homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert_above-70/config');
  });
});

describe('HomeAssistantDiscovery birth throttle', () => {
  it('answers a burst of birth messages with one republish now and one at the end of the interval', async () => {
    const clock = new ManualClock();
    let republishes = 0;
    const publisher = { publishMessages: async () => {}, republish: async () => void republishes++ };
    let birth: (() => void) | null = null;
    const aedes = {
      subscribe: (_t: string, deliver: (p: { payload: Buffer }, done: () => void) => void, cb: () => void) => ((birth = () => deliver({ payload: Buffer.from('online') }, () => {})), cb()),
      unsubscribe: (_t: string, _d: unknown, cb: () => void) => cb(),
    };
    const ha = new HomeAssistantDiscovery(aedes as never, publisher, { prefix: 'hygrocast', swVersion: '1', logger: silent, clock });
    await ha.start();
    const online = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) birth?.();
      await new Promise((r) => setImmediate(r));
    };
    await online(50);
    expect(republishes).toBe(1);
    clock.advance(BIRTH_REPUBLISH_INTERVAL_MS - 1);
    await online(1);
    expect(republishes).toBe(1);
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
    // The births during the interval still get their republish: HA may have restarted in between.
    expect(republishes).toBe(2);
    clock.advance(10 * BIRTH_REPUBLISH_INTERVAL_MS);
    await new Promise((r) => setImmediate(r));
    expect(republishes).toBe(2);
    await online(1);
    expect(republishes).toBe(3);
    await ha.stop();
  });
});

describe('HomeAssistantDiscovery with the embedded broker', () => {
  let broker: RunningBroker | null = null;
  let client: MqttClient | null = null;
  afterEach(async () => {
    await client?.endAsync(true);
    await broker?.close();
    client = null;
    broker = null;
  });

  it('republishes discovery and retained state when HA publishes its birth message', async () => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, logger: silent });
    const publisher = new MqttPublisher(broker.aedes);
    const ha = new HomeAssistantDiscovery(broker.aedes, publisher, { prefix: 'hygrocast', swVersion: '1.2.3', logger: silent });
    await ha.start();
    await publisher.online();
    await ha.announce('kitchen');
    await publisher.publishReading(reading);
    const on = { state: 'on', id: 'above-70', threshold: 70, direction: 'above', expected_at: '2026-01-01T03:00:00.000Z' } as const;
    await publisher.publishAlerts('kitchen', { ...on, active: ['above-70'] }, [on]);

    client = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0, protocolVersion: 4 });
    const live: Array<{ topic: string; retain: boolean }> = [];
    let retainedSeen = 0;
    client.on('message', (topic, _payload, packet) => (packet.retain ? retainedSeen++ : live.push({ topic, retain: packet.retain })));
    await client.subscribeAsync(['homeassistant/#', 'hygrocast/#']);
    // 6 discovery configs + state/humidity/temperature + bridge/state + alert + alert/above-70, all retained at subscribe.
    await expect.poll(() => retainedSeen).toBe(12);

    await client.publishAsync('homeassistant/status', 'offline');
    await client.publishAsync('homeassistant/status', 'online');
    // Republished messages arrive live (retain flag cleared for existing subscribers [MQTT-3.3.1-9]).
    await expect.poll(() => live.filter((m) => m.topic !== 'homeassistant/status').length).toBe(12);
    const topics = live.map((m) => m.topic).filter((t) => t !== 'homeassistant/status');
    expect(topics.indexOf('homeassistant/sensor/hygrocast_hygrocast/kitchen_humidity/config')).toBeLessThan(topics.indexOf('hygrocast/kitchen'));
    expect(topics).toContain('hygrocast/kitchen/alert');
    expect(topics).toContain('hygrocast/kitchen/alert/above-70');
    await ha.stop();
  });
});
