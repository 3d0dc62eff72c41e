// The page's footer line of operator figures (public/lib/status.js).
import { describe, expect, it } from 'vitest';
import { statusText } from './public/lib/status.js';

describe('statusText', () => {
  it('shows broker clients, store size and sync backlog', () => {
    expect(statusText({ mqttClients: 2, syncBacklog: 0, store: { readings: 3410, bytes: 1.25 * 1024 * 1024 } })).toBe(
      'MQTT clients 2 · store 3,410 readings, 1.3 MB · sync backlog 0',
    );
  });

  it('leaves out what is off or does not exist yet, and ignores junk', () => {
    expect(statusText({ mqttClients: null, syncBacklog: null, store: { readings: 5, bytes: 4096 } })).toBe('store 5 readings, 4 kB');
    expect(statusText(null)).toBe('');
    expect(statusText('nope')).toBe('');
  });
});
