import fs from 'node:fs';
import path from 'node:path';
import { writeFileDurable } from '../durable-file.ts';
import { setMostRecent } from '../recent-map.ts';
import { BrokerError } from './errors.ts';
import { MAX_TRACKED_SENSORS } from './publisher.ts';
import { isAlertId } from './topics.ts';

/**
 * The alert entities announced to Home Assistant, per sensor. The embedded broker keeps retained
 * messages in memory only, so after a restart nothing tells HA that an alert whose rule left
 * the config is gone: remembering what was announced lets the next announcement remove it.
 */
export interface AnnouncedAlerts {
  /** Alert ids announced for the sensor last time (empty when unknown). */
  get(sensorId: string): readonly string[];
  /** Records the ids just announced. */
  set(sensorId: string, alertIds: readonly string[]): void;
}

/** Within one process only (tests, or no data folder). Bounded by MAX_TRACKED_SENSORS sensors. */
export class MemoryAnnouncedAlerts implements AnnouncedAlerts {
  protected readonly bySensor = new Map<string, readonly string[]>();

  get(sensorId: string): readonly string[] {
    return this.bySensor.get(sensorId) ?? [];
  }

  set(sensorId: string, alertIds: readonly string[]): void {
    if (alertIds.length > 0) setMostRecent(this.bySensor, sensorId, [...alertIds], MAX_TRACKED_SENSORS);
    else this.bySensor.delete(sensorId);
  }
}

/** File name of the remembered announcements in the gateway's data folder. */
export const ANNOUNCED_ALERTS_FILE = 'ha-alert-entities.json';

/**
 * Kept in `<dataDir>/ha-alert-entities.json` (`{"<sensorId>": ["above-70", ...]}`), rewritten
 * durably (gateway/durable-file.ts) on every change. Best effort: a file that cannot be read
 * is treated as empty (stale entities are then left for the user to delete in HA) and a failed
 * write is reported to `onError`; announcing never fails because of it.
 */
export class FileAnnouncedAlerts extends MemoryAnnouncedAlerts {
  constructor(
    private readonly file: string,
    private readonly onError: (err: unknown) => void,
  ) {
    super();
    for (const [sensorId, ids] of Object.entries(this.read())) super.set(sensorId, ids);
  }

  override set(sensorId: string, alertIds: readonly string[]): void {
    const before = this.get(sensorId);
    super.set(sensorId, alertIds);
    if (before.length === alertIds.length && before.every((id, i) => id === alertIds[i])) return;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileDurable(this.file, JSON.stringify(Object.fromEntries(this.bySensor)));
    } catch (err) {
      this.onError(err);
    }
  }

  private read(): Record<string, string[]> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(err);
      return {};
    }
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // reported below, like any other content that is not the expected shape
    }
    if (isIdsBySensor(parsed)) return parsed;
    this.onError(new BrokerError('BROKER_INVALID_OPTION', `${this.file} is not a JSON object of sensor ids to arrays of alert ids; ignored (stale alert entities are not removed from Home Assistant)`));
    return {};
  }
}

function isIdsBySensor(v: unknown): v is Record<string, string[]> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((ids) => Array.isArray(ids) && ids.every((id) => typeof id === 'string' && isAlertId(id)));
}
