// The rig the Web UI tests share: a real dev server with its embedded UI (the suite's shared one is
// headless), the real workflow bundle, a bakeoff worker with the real platform activities on PGlite
// and the data plane the test gives (the workflow tests' scripted fixture: the UI, not retrieval, is
// under test), a client, and optionally Debian's chromium. close() undoes whatever was started, also
// when start failed half-way (start closes what it made, then rethrows).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { createActivities, type ActivityDeps } from '../../src/activities';
import type { Db } from '../../src/platform/db';
import { startDevServer, type DevServer } from '../../src/platform/temporal-dev-server';
import { createBakeoffWorker, type BakeoffWorkers } from '../../src/worker';
import { createLane, openTestDb, workflowBundle } from '../workflows/harness';

export const CHROMIUM = process.env.BAKEOFF_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = fs.existsSync(CHROMIUM);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian's chromium, headless, with a throwaway profile. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface UiRigOptions {
  /** Names the task queue (`<name>-<hex>`) and the temp dir (`bakeoff-<name>-…`). */
  name: string;
  lanes: string[];
  dataPlane: (db: Db) => ActivityDeps['dataPlane'];
  /** The report activity writes HTML reports to <tmp>/reports. */
  reportsDir?: boolean;
  /** Where the activities' notifications go; dropped by default. */
  log?: (line: string) => void;
  /** Keep the dev server's state in <tmp>/temporal.db instead of memory. */
  temporalDbFile?: boolean;
  /** 'launch': a plain browser; 'persistent': a context on a fresh profile in <tmp> (1400×900). */
  browser?: 'launch' | 'persistent';
}

export interface UiRig {
  tmp: string;
  taskQueue: string;
  server: DevServer;
  uiUrl: string;
  db: Db;
  connection: Connection;
  client: Client;
  nativeConnection: NativeConnection;
  worker: BakeoffWorkers;
  /** <tmp>/reports when asked for. */
  reportsDir: string | undefined;
  browser: Browser | undefined;
  context: BrowserContext | undefined;
  close(): Promise<void>;
}

export async function startUiRig(opts: UiRigOptions): Promise<UiRig> {
  const taskQueue = `${opts.name}-${randomBytes(3).toString('hex')}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bakeoff-${opts.name}-`));
  const reportsDir = opts.reportsDir ? path.join(tmp, 'reports') : undefined;
  const made: Partial<Omit<UiRig, 'close'>> & { workerRun?: Promise<void> } = {};
  const close = async (): Promise<void> => {
    await made.browser?.close().catch(() => undefined);
    await made.context?.close().catch(() => undefined);
    if (made.worker) {
      made.worker.shutdown();
      await made.workerRun?.catch(() => undefined);
    }
    await made.nativeConnection?.close().catch(() => undefined);
    await made.connection?.close().catch(() => undefined);
    await made.server?.stop();
    await made.db?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const serverP = startDevServer({ ...(opts.temporalDbFile ? { dbFile: path.join(tmp, 'temporal.db') } : {}), logFile: path.join(tmp, 'temporal.log') }).then((s) => (made.server = s));
    const bundleP = workflowBundle();
    const dbP = openTestDb().then((d) => (made.db = d));
    // All three settle before a failure is thrown, so close() sees every handle that was made.
    await Promise.allSettled([serverP, bundleP, dbP]);
    const [server, bundle, db] = await Promise.all([serverP, bundleP, dbP]);
    if (!server.uiUrl) throw new Error('the dev server was started without its Web UI');
    for (const lane of opts.lanes) await createLane(db, lane);
    made.connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection: made.connection });
    made.nativeConnection = await NativeConnection.connect({ address: server.address });
    made.worker = await createBakeoffWorker({
      connection: made.nativeConnection,
      taskQueue,
      extra: { workflowBundle: bundle },
      activities: createActivities({ db, dataPlane: opts.dataPlane(db), ...(reportsDir ? { reportsDir } : {}), log: opts.log ?? (() => undefined) }),
    });
    made.workerRun = made.worker.run();
    if (opts.browser === 'launch') made.browser = await launchChromium();
    if (opts.browser === 'persistent') {
      // A fresh profile per run (playwright passes it as --user-data-dir): no state from earlier runs.
      made.context = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
        executablePath: CHROMIUM,
        args: [...CHROMIUM_ARGS, '--disable-quic'],
        viewport: { width: 1400, height: 900 },
      });
    }
    return {
      tmp, taskQueue, server, uiUrl: server.uiUrl, db, client, reportsDir,
      connection: made.connection, nativeConnection: made.nativeConnection, worker: made.worker,
      browser: made.browser, context: made.context, close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
