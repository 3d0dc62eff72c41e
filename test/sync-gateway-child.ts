/**
 * A gateway that only syncs, for the kill test: opens the SQLite store at HYGROCAST_DATA_DIR,
 * drains it to HYGROCAST_SYNC_URL with HYGROCAST_SYNC_TOKEN, prints one JSON line per confirmed
 * batch, and exits 0 once nothing is left unsynced.
 */
import { systemClock } from '../gateway/clock.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import { HttpSyncTransport } from '../gateway/sync/http-transport.ts';
import { SyncUplink } from '../gateway/sync/uplink.ts';

const store = new SqliteStore({ dataDir: process.env.HYGROCAST_DATA_DIR!, syncEnabled: true, retentionBytes: null });
const transport = new HttpSyncTransport({ url: process.env.HYGROCAST_SYNC_URL!, token: process.env.HYGROCAST_SYNC_TOKEN! });
let synced = 0;
const uplink = new SyncUplink({
  source: store,
  transport,
  clock: systemClock,
  batchSize: Number(process.env.HYGROCAST_SYNC_BATCH ?? 1000),
  statusIntervalMs: 100,
  onStatus: (s) => {
    if (s.syncedTotal !== synced) {
      synced = s.syncedTotal;
      process.stdout.write(`${JSON.stringify({ synced })}\n`);
    }
    if (s.state === 'idle' && s.backlog === 0) {
      void uplink.stop().then(() => {
        transport.close();
        store.close();
        process.exit(0);
      });
    }
  },
});
uplink.start();
