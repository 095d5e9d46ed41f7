// Issue 15 item 6: `bakeoff screenshot ID` (the command docs/operations.md gives for a picture of a
// bakeoff's Web UI page) returns on a RUNNING workflow's page — where chromium's own
// `--screenshot --virtual-time-budget` never returns, because the page keeps polling — and the PNG
// shows the rendered page, not the empty shell plain `--screenshot` catches. Real dev server with
// its Web UI, Debian's chromium; skipped (loudly) without chromium.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../src/platform/temporal-dev-server';
import { bakeoffProcess, run } from '../support/cli';

const CHROMIUM = process.env.BAKEOFF_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`\n! SKIPPED test/ui/screenshot-command.test.ts: no chromium at ${CHROMIUM}\n\n`);
const suite = haveChromium ? describe : describe.skip;

suite('bakeoff screenshot', () => {
  let tmp: string;
  let server: DevServer;
  let connection: Connection;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-shot-'));
    server = await startDevServer({ logFile: path.join(tmp, 'temporal.log') });
    connection = await Connection.connect({ address: server.address });
  }, 120_000);
  afterAll(async () => {
    await connection?.close();
    await server?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('shoots a running workflow\'s page once it has rendered, and returns', async () => {
    // Running for as long as the test needs: no worker polls its task queue.
    const id = `bakeoff-shot-${Date.now()}`;
    await new Client({ connection }).workflow.start('bakeoff', { workflowId: id, taskQueue: 'nobody-polls-this', args: [{}] });
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: server.address, BAKEOFF_UI_URL: server.uiUrl, BAKEOFF_CHROMIUM: CHROMIUM };
    const out = path.join(tmp, 'running.png');
    const t0 = Date.now();
    const r = await bakeoffProcess(['screenshot', id, '--out', out, '--timeout', '40'], env, 90_000);
    const tookS = (Date.now() - t0) / 1000;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${out}: ${server.uiUrl}/namespaces/default/workflows/${id}`);
    expect(tookS).toBeLessThan(60);

    // What plain `chromium --headless --screenshot` gets from the same page: the empty shell.
    const naive = path.join(tmp, 'naive.png');
    const plain = await run(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--window-size=1400,900', `--screenshot=${naive}`, `${server.uiUrl}/namespaces/default/workflows/${id}`], { env, timeoutMs: 60_000 });
    expect(plain.code).toBe(0);
    const [shot, empty] = [fs.statSync(out).size, fs.statSync(naive).size];
    process.stderr.write(`bakeoff screenshot: ${shot} bytes in ${tookS.toFixed(1)} s; plain chromium --screenshot: ${empty} bytes\n`);
    expect(shot).toBeGreaterThan(4 * empty);

    // A page that never shows the workflow: a one-line error after --timeout, the PNG kept for a look.
    const missing = await bakeoffProcess(['screenshot', 'bakeoff-no-such-workflow', '--out', path.join(tmp, 'missing.png'), '--timeout', '8'], env, 60_000);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^bakeoff: \S+ did not show bakeoff-no-such-workflow within 8 s; saved what it showed to \S+missing\.png\n$/);
  }, 180_000);
});
