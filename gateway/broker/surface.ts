import type { Aedes } from 'aedes';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import type { Logger } from '../log.ts';
import type { AnnouncedAlerts } from './announced-alerts.ts';
import { defaultAnonymousAcl, type AuthOptions } from './auth.ts';
import { MqttCommands } from './commands.ts';
import { HomeAssistantDiscovery } from './home-assistant.ts';
import { MqttIngestSource } from './ingest.ts';
import { MqttTopicSource } from './topic-source.ts';
import type { MqttPublisher } from './publisher.ts';

type MqttConfig = Config['mqtt'];

/** The startBroker `auth` option from the config's mqtt section (anonymous ACL defaulted from the prefixes). */
export function authFromConfig(mqtt: MqttConfig): AuthOptions {
  return {
    users: mqtt.users,
    allowAnonymous: mqtt.allowAnonymous,
    anonymous: mqtt.anonymous ?? defaultAnonymousAcl(mqtt.topicPrefix, mqtt.discovery.prefix, mqtt.discovery.birthTopic),
  };
}

export interface MqttSurfaceOptions {
  aedes: Aedes;
  publisher: MqttPublisher;
  mqtt: MqttConfig;
  bus: GatewayBus;
  logger: Logger;
  clock: Clock;
  swVersion: string;
  /** Ids of a sensor's alerts, each announced as a Home Assistant binary_sensor. Default none. */
  alertIds?: (sensorId: string) => readonly string[];
  /** The alert entities announced before, so those of removed rules are removed from HA. Default: this process only. */
  announcedAlerts?: AnnouncedAlerts;
  /** Data of the built-in commands; each getter is called per request. */
  health: () => unknown;
  sensors: () => unknown;
  info: () => unknown;
}

export interface MqttSurface {
  /** Register more commands here (e.g. a firmware command for a serial source). */
  readonly commands: MqttCommands;
  /** The ingest ReadingSource; the gateway attaches it to the pipeline and starts it with the other sources. */
  readonly ingest: MqttIngestSource;
  /** One ReadingSource per `mqtt.sensorTopics` entry, attached and started like `ingest`. */
  readonly sensorTopics: readonly MqttTopicSource[];
  stop(): Promise<void>;
}

/**
 * Everything MQTT beyond plain publishing: commands (`health`, `sensors`, `info`), Home Assistant
 * discovery for every sensor that delivers a reading, and the ingest source. Create it before
 * the publisher is wired to the bus, so a sensor's discovery configs go out before its first state.
 */
export async function startMqttSurface(o: MqttSurfaceOptions): Promise<MqttSurface> {
  const commands = new MqttCommands(o.aedes, { prefix: o.mqtt.topicPrefix, logger: o.logger, clock: o.clock });
  commands.register('health', () => o.health());
  commands.register('sensors', () => o.sensors());
  commands.register('info', () => o.info());
  await commands.start();
  let ha: HomeAssistantDiscovery | null = null;
  let offReading = (): void => {};
  if (o.mqtt.discovery.enabled) {
    const discovery = new HomeAssistantDiscovery(o.aedes, o.publisher, {
      prefix: o.mqtt.topicPrefix,
      discoveryPrefix: o.mqtt.discovery.prefix,
      birthTopic: o.mqtt.discovery.birthTopic,
      swVersion: o.swVersion,
      ...(o.alertIds ? { alertIds: o.alertIds } : {}),
      ...(o.announcedAlerts ? { announcedAlerts: o.announcedAlerts } : {}),
      logger: o.logger,
      clock: o.clock,
    });
    await discovery.start();
    const onReading = (r: { sensorId: string }): void => void discovery.announce(r.sensorId);
    o.bus.on('reading', onReading);
    offReading = () => o.bus.off('reading', onReading);
    ha = discovery;
  }
  const ingest = new MqttIngestSource(o.aedes, { prefix: o.mqtt.topicPrefix, clock: o.clock });
  const sensorTopics = o.mqtt.sensorTopics.map((t) => new MqttTopicSource(o.aedes, { ...t, clock: o.clock }));
  return {
    commands,
    ingest,
    sensorTopics,
    stop: async () => {
      offReading();
      await ha?.stop();
      await commands.stop();
    },
  };
}
