// Several alert rules on one sensor, from forecasts to retained MQTT topics (the gateway's
// wiring in app.ts): one rule clearing must not clear the sensor's alert while another is on.
import type { Aedes } from 'aedes';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { AlertEvaluator, wireAlerts, type AlertRule } from '../forecast/alerts.ts';
import type { Forecast } from '../types.ts';
import { MqttPublisher } from './publisher.ts';

const BASE = Date.UTC(2026, 0, 1, 12, 0);

function forecast(rh: number, modelVersion = 'm1'): Forecast {
  return { sensorId: 'cellar', issuedAtMs: BASE, baseTimeMs: BASE, modelVersion, warmingUp: false, points: [1, 2, 3].map((h) => ({ horizonS: h * 3600, rh, lower: rh - 1, upper: rh + 1 })) };
}

/** Alerts wired to a publisher on a fake broker, as app.ts does; `retained` holds the last retained payload per alert topic. */
async function wired(rules: AlertRule[], intervalLevel: () => number): Promise<{ bus: GatewayBus; retained: Map<string, Record<string, unknown>>; settled: () => Promise<unknown> }> {
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
  wireAlerts(bus, new AlertEvaluator({ rules, clock: new ManualClock(BASE), intervalLevel }));
  return { bus, retained, settled: () => Promise.all(published) };
}

describe('alert topics with several rules on a sensor', () => {
  it('keep one retained state per rule, and the sensor topic on while any rule is on', async () => {
    const rules = [
      { sensor: '*', above: 70, hysteresisRh: 2 },
      { sensor: 'cellar', above: 80, below: 20, hysteresisRh: 2 },
    ];
    const { bus, retained, settled } = await wired(rules, () => 0.8);

    bus.emit('forecast', forecast(85)); // above-70 and above-80 on
    bus.emit('forecast', forecast(75)); // above-80 clears, above-70 stays on
    await settled();
    expect(retained.get('hygrocast/cellar/alert')).toMatchObject({ state: 'on', id: 'above-70', threshold: 70, active: ['above-70'] });
    expect(retained.get('hygrocast/cellar/alert/above-70')).toMatchObject({ state: 'on', id: 'above-70' });
    expect(retained.get('hygrocast/cellar/alert/above-80')).toMatchObject({ state: 'off', id: 'above-80' });
    // Never raised: off, stated once at start (a retained state from before a restart is overwritten).
    expect(retained.get('hygrocast/cellar/alert/below-20')).toMatchObject({ state: 'off', id: 'below-20' });

    bus.emit('forecast', forecast(10)); // above-70 clears, below-20 raises
    await settled();
    expect(retained.get('hygrocast/cellar/alert')).toMatchObject({ state: 'on', id: 'below-20', direction: 'below', active: ['below-20'] });
    expect(retained.get('hygrocast/cellar/alert/above-70')).toMatchObject({ state: 'off' });
  });

  it('carry the new model version and probability_min after a model swap, although no state changed', async () => {
    let level = 0.8;
    const { bus, retained, settled } = await wired([{ sensor: '*', above: 70, hysteresisRh: 2 }, { sensor: '*', above: 80, hysteresisRh: 2 }], () => level);
    bus.emit('forecast', forecast(85, 'm1')); // both on
    bus.emit('forecast', forecast(75, 'm1')); // above-80 off, above-70 on
    await settled();
    level = 0.9; // the ModelManager swapped to m2
    bus.emit('forecast', forecast(75, 'm2'));
    await settled();
    const m2 = { model_version: 'm2', probability_min: 0.05 };
    expect(retained.get('hygrocast/cellar/alert')).toMatchObject({ ...m2, state: 'on', active: ['above-70'] });
    expect(retained.get('hygrocast/cellar/alert/above-70')).toMatchObject({ ...m2, state: 'on' });
    expect(retained.get('hygrocast/cellar/alert/above-80')).toMatchObject({ ...m2, state: 'off' });
  });
});
