import fs from 'node:fs';
import type { Config } from '../../gateway/config/schema.ts';
import { fail, ok, type CheckResult } from './check.ts';

interface NeededFile {
  id: string;
  what: string;
  file: string;
  key: string;
}

/**
 * The files the configuration names that the gateway reads at start: the TLS listener's
 * certificate and key (the broker does not start without them) and the central server's pinned
 * public key (model updates are off without it). Each must exist and be readable by this user.
 */
export function checkFiles(config: Config): CheckResult[] {
  const needed: NeededFile[] = [];
  const tls = config.mqtt.enabled ? config.mqtt.tls : undefined;
  if (tls) {
    needed.push({ id: 'file.mqtt-tls-cert', what: 'MQTT TLS certificate', file: tls.certFile, key: 'mqtt.tls.certFile' });
    needed.push({ id: 'file.mqtt-tls-key', what: 'MQTT TLS private key', file: tls.keyFile, key: 'mqtt.tls.keyFile' });
  }
  if (config.sync.enabled && config.sync.modelPublicKeyPath !== '') {
    needed.push({ id: 'file.model-public-key', what: "central server's model signing key (public)", file: config.sync.modelPublicKeyPath, key: 'sync.modelPublicKeyPath' });
  }
  return needed.map((n) => {
    try {
      fs.accessSync(n.file, fs.constants.R_OK);
      return ok(n.id, `${n.what} ${n.file} is readable`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${code})`;
      return fail(n.id, `${n.what} ${n.file} ${why}`, `put the file there or set ${n.key} to where it is, readable by the user the gateway runs as`);
    }
  });
}
