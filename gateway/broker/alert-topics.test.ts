// Several alert rules on one sensor, from forecasts to retained MQTT topics (the gateway's
// wiring in app.ts): one rule clearing must not clear the sensor's alert while another is on.
import type { Aedes } from 'aedes';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { AlertEvaluator, wireAlerts } from '../forecast/alerts.ts';
import type { Forecast } from '../types.ts';
import { MqttPublisher } from './publisher.ts';

const BASE = Date.UTC(2026, 0, 1, 12, 0);

function forecast(rh: number): Forecast {
  return { sensorId: 'cellar', issuedAtMs: BASE, baseTimeMs: BASE, modelVersion: 'm1', warmingUp: false, points: [1, 2, 3].map((h) => ({ horizonS: h * 3600, rh, lower: rh - 1, upper: rh + 1 })) };
}

describe('alert topics with several rules on a sensor', () => {
  it('keep one retained state per rule, and the sensor topic on while any rule is on', async () => {
    const retained = new Map<string, Record<string, unknown>>();
    const aedes: Pick<Aedes, 'publish'> = {
      publish: (packet, done) => {
        if (packet.retain && packet.topic.includes('/alert')) retained.set(packet.topic, JSON.parse(String(packet.payload)) as Record<string, unknown>);
        done?.(undefined);
      },
    };
    const publisher = new MqttPublisher(aedes, { prefix: 'hygrocast' });
    await publisher.online();
    const bus = new GatewayBus();
    const published: Promise<void>[] = [];
    bus.on('alert', (combined, changed) => published.push(publisher.publishAlerts(combined.sensor, combined, changed)));
    const rules = [
      { sensor: '*', above: 70, hysteresisRh: 2 },
      { sensor: 'cellar', above: 80, below: 20, hysteresisRh: 2 },
    ];
    wireAlerts(bus, new AlertEvaluator({ rules, clock: new ManualClock(BASE), intervalLevel: () => 0.8 }), () => undefined);

    bus.emit('forecast', forecast(85)); // above-70 and above-80 on
    bus.emit('forecast', forecast(75)); // above-80 clears, above-70 stays on
    await Promise.all(published);
    expect(retained.get('hygrocast/cellar/alert')).toMatchObject({ state: 'on', id: 'above-70', threshold: 70, active: ['above-70'] });
    expect(retained.get('hygrocast/cellar/alert/above-70')).toMatchObject({ state: 'on', id: 'above-70' });
    expect(retained.get('hygrocast/cellar/alert/above-80')).toMatchObject({ state: 'off', id: 'above-80' });
    expect(retained.has('hygrocast/cellar/alert/below-20')).toBe(false); // never raised: nothing retained

    bus.emit('forecast', forecast(10)); // above-70 clears, below-20 raises
    await Promise.all(published);
    expect(retained.get('hygrocast/cellar/alert')).toMatchObject({ state: 'on', id: 'below-20', direction: 'below', active: ['below-20'] });
    expect(retained.get('hygrocast/cellar/alert/above-70')).toMatchObject({ state: 'off' });
  });
});
