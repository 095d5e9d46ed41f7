// Starts the real servers the suite shares, on loopback, and tells the tests where they are:
//   BAKEOFF_TEST_PG_URL           a private PostgreSQL 15 cluster with pgvector available
//   BAKEOFF_TEST_TEMPORAL_ADDRESS a Temporal dev server (SQLite in a temp dir, headless)
// A variable already set by the caller is respected (point tests at your own servers that way).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startPostgres } from '../src/platform/postgres-server';
import { startDevServer } from '../src/platform/temporal-dev-server';

type Stop = () => Promise<void>;
const g = globalThis as unknown as { __bakeoffStops?: Stop[]; __bakeoffTmp?: string };

export default async function globalSetup(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-test-'));
  g.__bakeoffTmp = tmp;
  g.__bakeoffStops = [];
  const t0 = Date.now();
  const [pg, temporal] = await Promise.all([
    process.env.BAKEOFF_TEST_PG_URL ? undefined : startPostgres({ dir: path.join(tmp, 'pg'), ephemeral: true }),
    process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS
      ? undefined
      : startDevServer({ dbFile: path.join(tmp, 'temporal.db'), headless: true, logFile: path.join(tmp, 'temporal.log') }),
  ]);
  if (pg) {
    process.env.BAKEOFF_TEST_PG_URL = pg.url;
    g.__bakeoffStops.push(() => pg.stop());
  }
  if (temporal) {
    process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS = temporal.address;
    g.__bakeoffStops.push(() => temporal.stop());
  }
  process.stderr.write(
    `\n[global-setup] PostgreSQL ${process.env.BAKEOFF_TEST_PG_URL}, Temporal ${process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS} (${Date.now() - t0} ms)\n`,
  );
}
