// A real Temporal dev server (the CLI built from Go modules) on loopback, a real worker, a real client.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { registerSearchAttributes, SEARCH_ATTRIBUTES, startDevServer, type DevServer } from '../../src/platform/temporal-dev-server';
import { smoke, smokeAckSignal, smokeStateQuery } from '../../src/workflows/smoke';

let server: DevServer;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-dev-'));
  server = await startDevServer({ dbFile: path.join(dir, 'temporal.db'), headless: true });
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('timer, signal and query round-trip through a real dev server', async () => {
  const taskQueue = `smoke-${process.pid}`;
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../src/workflows'),
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    await worker.runUntil(async () => {
      const handle = await client.workflow.start(smoke, {
        taskQueue,
        workflowId: `smoke-${Date.now()}`,
        args: [{ sleep: '1s', ackTimeout: '1m' }],
      });
      expect((await handle.query(smokeStateQuery)).phase).toBe('sleeping');
      // Wait for the durable timer to fire on the server, then ack.
      for (let i = 0; i < 50 && (await handle.query(smokeStateQuery)).phase === 'sleeping'; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await handle.query(smokeStateQuery)).phase).toBe('awaiting-ack');
      await handle.signal(smokeAckSignal, { by: 'jest' });
      await expect(handle.result()).resolves.toEqual({ phase: 'done', ackedBy: 'jest' });
      const desc = await handle.describe();
      expect(desc.status.name).toBe('COMPLETED');
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
});

// `start-dev --search-attribute` registers attributes only when it creates its SQLite file: a demo's
// .bakeoff/temporal.db from a release without BakeoffOutcome came back without it, and every bakeoff
// start was refused. startDevServer registers what the file lacks.
test('a dev server restarted on an older SQLite file gets the search attributes that file lacks', async () => {
  const dbFile = path.join(dir, 'older.db');
  const listed = async (s: DevServer) => {
    const conn = await Connection.connect({ address: s.address });
    try {
      const r = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
      return Object.keys(r.customAttributes ?? {});
    } finally {
      await conn.close();
    }
  };
  const first = await startDevServer({ dbFile, headless: true });
  try {
    const conn = await Connection.connect({ address: first.address });
    // The file as an older release left it: no BakeoffOutcome.
    await conn.operatorService.removeSearchAttributes({ namespace: 'default', searchAttributes: ['BakeoffOutcome'] });
    await conn.close();
    expect(await listed(first)).not.toContain('BakeoffOutcome');
  } finally {
    await first.stop();
  }
  const second = await startDevServer({ dbFile, headless: true });
  try {
    expect(await listed(second)).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)));
    expect(await registerSearchAttributes(second.address)).toEqual([]); // nothing left to add
  } finally {
    await second.stop();
  }
});
