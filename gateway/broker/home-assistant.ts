import type { Aedes } from 'aedes';
import { systemClock, type Clock } from '../clock.ts';
import { TrailingThrottle } from '../trailing-throttle.ts';
import type { Logger } from '../log.ts';
import { watchBirth } from './commands.ts';
import { MemoryAnnouncedAlerts, type AnnouncedAlerts } from './announced-alerts.ts';
import { alertRemovalMessages, discoveryMessages, type DiscoveryOptions } from './discovery.ts';
import { MAX_TRACKED_SENSORS, type MqttPublisher } from './publisher.ts';

export interface HomeAssistantOptions extends DiscoveryOptions {
  /** Ids of the sensor's alerts (one per rule and direction, gateway/forecast/alerts.ts alertsFor), each a binary_sensor; asked once per announcement. Default none. */
  alertIds?: (sensorId: string) => readonly string[];
  /** HA's birth topic; `online` there makes the gateway publish discovery and state again. Default `<discoveryPrefix>/status`. */
  birthTopic?: string;
  /** The alert entities announced before (FileAnnouncedAlerts: across restarts). Default: this process only. */
  announcedAlerts?: AnnouncedAlerts;
  logger: Logger;
  /** Default systemClock (the birth throttle's timer). */
  clock?: Clock;
}

/**
 * Least time between two republishes for HA's birth message, ms. Each republish sends every
 * retained message (thousands with many sensors), and any client allowed to publish the birth
 * topic can send `online`: births within the interval are answered by one republish at its end.
 */
export const BIRTH_REPUBLISH_INTERVAL_MS = 10_000;

/**
 * Home Assistant discovery for the sensors the gateway sees: announce(sensorId) publishes the
 * sensor's discovery configs once (retained), and HA's birth message makes the publisher
 * republish every retained message, discovery configs first (they were published before any
 * state of their sensor), so a restarted HA rebuilds its entities with current values.
 * An alert entity announced before (announcedAlerts) whose alert the sensor no longer has is
 * removed in the same announcement (discovery.ts alertRemovalMessages). Errors are logged: discovery is best effort and must never stop readings.
 */
export class HomeAssistantDiscovery {
  private readonly announced = new Set<string>();
  private readonly announcedAlerts: AnnouncedAlerts;
  private unwatch: (() => Promise<void>) | null = null;
  private birth: TrailingThrottle | null = null;

  constructor(
    private readonly aedes: Pick<Aedes, 'subscribe' | 'unsubscribe'>,
    private readonly publisher: Pick<MqttPublisher, 'publishMessages' | 'republish'>,
    private readonly options: HomeAssistantOptions,
  ) {
    this.announcedAlerts = options.announcedAlerts ?? new MemoryAnnouncedAlerts();
  }

  get birthTopic(): string {
    return this.options.birthTopic ?? `${this.options.discoveryPrefix ?? 'homeassistant'}/status`;
  }

  async start(): Promise<void> {
    if (this.unwatch) return;
    // Republishes now, or once at the end of the interval when one ran (or runs) within it.
    const birth = new TrailingThrottle(this.options.clock ?? systemClock, BIRTH_REPUBLISH_INTERVAL_MS, () => this.republish());
    this.birth = birth;
    this.unwatch = await watchBirth(this.aedes, this.birthTopic, () => birth.request());
  }

  async stop(): Promise<void> {
    const unwatch = this.unwatch;
    this.unwatch = null;
    const birth = this.birth;
    this.birth = null;
    await unwatch?.();
    await birth?.stop();
  }

  private republish(): Promise<void> {
    this.options.logger.info({ topic: this.birthTopic }, 'home assistant came online: republishing discovery and state');
    return this.publisher.republish().catch((err: unknown) => this.options.logger.warn({ err }, 'republish for home assistant failed'));
  }

  /** Publishes the sensor's discovery configs the first time it is seen (at most MAX_TRACKED_SENSORS sensors). */
  async announce(sensorId: string): Promise<void> {
    if (this.announced.has(sensorId) || this.announced.size >= MAX_TRACKED_SENSORS) return;
    this.announced.add(sensorId);
    try {
      const alertIds = this.options.alertIds?.(sensorId) ?? [];
      const stale = this.announcedAlerts.get(sensorId).filter((id) => !alertIds.includes(id));
      await this.publisher.publishMessages([...discoveryMessages(this.options, sensorId, alertIds), ...alertRemovalMessages(this.options, sensorId, stale)], sensorId);
      this.announcedAlerts.set(sensorId, alertIds);
    } catch (err) {
      this.announced.delete(sensorId);
      this.options.logger.warn({ sensorId, err }, 'home assistant discovery not published');
    }
  }
}
