import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryStore } from './memory-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import { runStoreContract } from './store.contract.ts';

runStoreContract('MemoryStore', (options) => ({ store: new MemoryStore(options) }));

runStoreContract('SqliteStore', (options) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-store-'));
  return {
    store: new SqliteStore({ dataDir, ...options }),
    cleanup: () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
});
