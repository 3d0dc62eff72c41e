import net from 'node:net';
import type { Config } from '../../gateway/config/schema.ts';
import { fail, ok, type CheckResult } from './check.ts';
import { isHygrocastGateway, portOwnerCommand } from './port-owner.ts';

/** Tries to bind host:port, then releases it. Resolves with the error code, or null when free. */
export async function tryListen(host: string, port: number): Promise<string | null> {
  return await new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'LISTEN_FAILED'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

interface PortUse {
  id: string;
  what: string;
  host: string;
  port: number;
  env: string;
  key: string;
}

async function checkPort(use: PortUse): Promise<CheckResult> {
  const where = `${use.host}:${use.port}`;
  if (use.port === 0) return ok(use.id, `${use.what} uses a free port chosen at start (port 0)`);
  const error = await tryListen(use.host, use.port);
  if (error === null) return ok(use.id, `${use.what} port ${where} is free`);
  const hint = `set ${use.key} in the config file (or ${use.env}) to a free port`;
  if (error === 'EADDRINUSE') {
    const owner = portOwnerCommand(use.port);
    if (owner && isHygrocastGateway(owner)) return ok(use.id, `${use.what} port ${where} is held by a running hygrocast gateway`);
    const who = owner ? ` by "${owner.join(' ').slice(0, 120)}"` : ' by another program';
    return fail(use.id, `${use.what} port ${where} is taken${who}`, `stop that program (see: ss -ltnp 'sport = :${use.port}'), or ${hint}`);
  }
  if (error === 'EACCES') return fail(use.id, `${use.what} port ${where} needs privileges (ports below 1024)`, `${hint} (1024 or higher)`);
  if (error === 'EADDRNOTAVAIL') return fail(use.id, `${use.what} host ${use.host} is not an address of this machine`, `set ${use.key.replace('port', 'host')} to 0.0.0.0 or one of this machine's addresses`);
  return fail(use.id, `${use.what} port ${where} cannot be bound (${error})`, hint);
}

/** The MQTT and dashboard ports are free, or already held by hygrocast itself. */
export async function checkPorts(config: Config): Promise<CheckResult[]> {
  const uses: PortUse[] = [];
  if (config.mqtt.enabled) uses.push({ id: 'port.mqtt', what: 'MQTT broker', host: config.mqtt.host, port: config.mqtt.port, env: 'HYGROCAST_MQTT_PORT', key: 'mqtt.port' });
  if (config.dashboard.enabled) uses.push({ id: 'port.dashboard', what: 'dashboard', host: config.dashboard.host, port: config.dashboard.port, env: 'HYGROCAST_DASHBOARD_PORT', key: 'dashboard.port' });
  const tls = config.mqtt.enabled ? config.mqtt.tls : undefined;
  if (tls) uses.push({ id: 'port.mqtt-tls', what: 'MQTT TLS listener', host: config.mqtt.host, port: tls.port, env: 'HYGROCAST_MQTT_TLS_PORT', key: 'mqtt.tls.port' });
  const results: CheckResult[] = [];
  for (const use of uses) results.push(await checkPort(use));
  return results;
}
