// "Use the user's Temporal, or run our own": with TEMPORAL_ADDRESS set we connect there; without it
// we start (or find again) a dev server whose SQLite file lives in the project's state directory,
// so a rerun of the demo sees the workflows of the last one. The server is left running on purpose:
// the Web UI stays browsable after the demo returns. `npm run stop` ends it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from './paths';
import { portOpen } from './ports';
import { registerSearchAttributes, startDevServer, waitForTemporal } from './temporal-dev-server';

export interface LocalTemporal {
  address: string;
  uiUrl?: string;
  /** True when this call started the server (false: reused a running one or the user's). */
  started: boolean;
}

const stateFile = () => path.join(stateDir, 'temporal-server.json');
const DEFAULT_PORT = 7233;
const DEFAULT_UI_PORT = 8233;

interface Recorded {
  pid: number;
  address: string;
  uiUrl?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function ensureLocalTemporal(log: (line: string) => void = () => undefined): Promise<LocalTemporal> {
  if (process.env.TEMPORAL_ADDRESS) {
    await waitForTemporal(process.env.TEMPORAL_ADDRESS, 10_000).catch(() => {
      throw new Error(`cannot reach the Temporal server at TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS}`);
    });
    return { address: process.env.TEMPORAL_ADDRESS, started: false };
  }
  fs.mkdirSync(stateDir, { recursive: true });
  if (fs.existsSync(stateFile())) {
    const rec = JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as Recorded;
    if (alive(rec.pid)) {
      await waitForTemporal(rec.address, 15_000);
      const added = await registerSearchAttributes(rec.address);
      log(`reusing the local Temporal dev server at ${rec.address} (pid ${rec.pid})${added.length > 0 ? `; registered search attribute(s) ${added.join(', ')}` : ''}`);
      return { address: rec.address, uiUrl: rec.uiUrl, started: false };
    }
  }
  // Prefer the well-known ports so the UI address is the familiar one; fall back to free ports.
  const port = (await portOpen('127.0.0.1', DEFAULT_PORT)) ? undefined : DEFAULT_PORT;
  const uiPort = (await portOpen('127.0.0.1', DEFAULT_UI_PORT)) ? undefined : DEFAULT_UI_PORT;
  const dbFile = path.join(stateDir, 'temporal.db');
  log(`starting a Temporal dev server (state: ${dbFile})`);
  const server = await startDevServer({
    dbFile,
    port,
    uiPort,
    detached: true,
    logFile: path.join(stateDir, 'temporal-server.log'),
  });
  const rec: Recorded = { pid: server.pid, address: server.address, uiUrl: server.uiUrl };
  fs.writeFileSync(stateFile(), JSON.stringify(rec, null, 2));
  return { address: server.address, uiUrl: server.uiUrl, started: true };
}

/** Stops the dev server ensureLocalTemporal started (its SQLite file stays for the next start). */
export function stopLocalTemporal(): boolean {
  if (!fs.existsSync(stateFile())) return false;
  const rec = JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as Recorded;
  fs.rmSync(stateFile());
  if (!alive(rec.pid)) return false;
  process.kill(rec.pid, 'SIGTERM');
  return true;
}
