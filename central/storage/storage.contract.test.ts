import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { findPostgresBin, startPostgres, type TestPostgres } from '../../test/postgres.ts';
import { PgCentralStorage } from './pg-storage.ts';
import { SqliteCentralStorage } from './sqlite-storage.ts';
import { runCentralStorageContract } from './storage.contract.ts';

runCentralStorageContract('SQLite', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-central-'));
  return Promise.resolve({ storage: new SqliteCentralStorage({ dataDir }), cleanup: () => fs.rmSync(dataDir, { recursive: true, force: true }) });
});

const pgBin = findPostgresBin();
let server: TestPostgres | null = null;
beforeAll(async () => {
  if (pgBin !== null) server = await startPostgres(pgBin);
});
afterAll(async () => {
  await server?.stop();
});
runCentralStorageContract('PostgreSQL', pgBin === null ? null : async () => ({ storage: new PgCentralStorage({ connectionString: await server!.createDatabase() }) }));
