import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ANNOUNCED_ALERTS_FILE, FileAnnouncedAlerts } from './announced-alerts.ts';
import { HomeAssistantDiscovery } from './home-assistant.ts';
import type { MqttMessage } from './topics.ts';

const silent = pino({ level: 'silent' });

function tempFile(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'hygrocast-ha-')), ANNOUNCED_ALERTS_FILE);
}

/** One gateway run's discovery: announces `kitchen` with these alert ids; returns what it published. */
async function announceRun(file: string, alertIds: string[]): Promise<MqttMessage[]> {
  const sent: MqttMessage[] = [];
  const publisher = { publishMessages: async (m: readonly MqttMessage[]) => void sent.push(...m), republish: async () => {} };
  const aedes = { subscribe: () => {}, unsubscribe: () => {} };
  const announcedAlerts = new FileAnnouncedAlerts(file, (err) => {
    throw err;
  });
  const ha = new HomeAssistantDiscovery(aedes, publisher, { prefix: 'hygrocast', swVersion: '1', alertIds: () => alertIds, announcedAlerts, logger: silent });
  await ha.announce('kitchen');
  return sent;
}

describe('alert entities of rules removed from the config', () => {
  it('are removed from Home Assistant at the next run: empty retained config and state', async () => {
    const file = tempFile();
    const first = await announceRun(file, ['above-70', 'damp']);
    expect(first.filter((m) => m.topic.includes('kitchen_alert_')).map((m) => m.topic)).toEqual([
      'homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert_above-70/config',
      'homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert_damp/config',
    ]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ kitchen: ['above-70', 'damp'] });

    // The restarted gateway's config has lost the "damp" rule.
    const second = await announceRun(file, ['above-70']);
    expect(second.filter((m) => m.payload === '')).toEqual([
      { topic: 'homeassistant/binary_sensor/hygrocast_hygrocast/kitchen_alert_damp/config', payload: '', retain: true },
      { topic: 'hygrocast/kitchen/alert/damp', payload: '', retain: true },
    ]);
    expect(second.some((m) => m.topic.endsWith('kitchen_alert_above-70/config') && m.payload !== '')).toBe(true);
    // Removed once: the run after that has nothing to remove.
    expect((await announceRun(file, ['above-70'])).filter((m) => m.payload === '')).toEqual([]);
  });

  it('treat an unreadable memory as empty and say so, without failing', () => {
    const file = tempFile();
    writeFileSync(file, '{"kitchen": ["a/#"]}');
    const errors: unknown[] = [];
    const memory = new FileAnnouncedAlerts(file, (err) => errors.push(err));
    expect(memory.get('kitchen')).toEqual([]);
    expect(errors).toEqual([expect.objectContaining({ code: 'BROKER_INVALID_OPTION', message: expect.stringContaining('is not a JSON object of sensor ids to arrays of alert ids') })]);
    memory.set('kitchen', ['above-70']);
    expect(new FileAnnouncedAlerts(file, (err) => errors.push(err)).get('kitchen')).toEqual(['above-70']);
    expect(errors).toHaveLength(1);
  });
});
