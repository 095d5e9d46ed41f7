// Issue 15 item 1: every process that opens the embedded PGlite store honours its lock
// (<dir>.lock, src/cli/pglite-lock.ts) with the same one-line refusal — the retrieval service
// included, which used to start and serve while a worker held the store. Real processes: the
// service (src/serve/main.ts) and the bakeoff CLI. The holder of a lock is a live process whose pid
// the lock names (a `sleep`, or this test process through the service's own lockServeStore): the
// lock protocol only looks at that pid.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lockServeStore } from '../../src/serve/main';
import { bakeoffProcess, run } from '../support/cli';

const repo = path.resolve(__dirname, '..', '..');
let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-lock-'));
  fs.mkdirSync(path.join(home, 'pglite'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const env = () => ({ PATH: process.env.PATH, HOME: process.env.HOME, BAKEOFF_HOME: home, BAKEOFF_PGLITE_DIR: path.join(home, 'pglite'), BAKEOFF_SERVE_PORT: '0' });
const serve = () => run('node', ['-r', path.join(repo, 'test/support/ts-register.js'), path.join(repo, 'src/serve/main.ts')], { env: env(), timeoutMs: 120_000 });
const refusal = (holder: string, pid: number) =>
  `the embedded PGlite store ${path.join(home, 'pglite')} is in use by \`${holder}\` (pid ${pid}): stop it first, or set DATABASE_URL (PostgreSQL) so several processes can share the store`;

test('the service refuses a store a bakeoff worker holds, in the CLI\'s words', async () => {
  const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(home, 'pglite.lock'), JSON.stringify({ pid: holder.pid, command: 'worker', since: new Date().toISOString() }));
    const r = await serve();
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bakeoff serve: ${refusal('bakeoff worker', holder.pid!)}\n`);
    expect(r.stdout).toBe('');
  } finally {
    holder.kill();
  }
}, 120_000);

test('the CLI refuses a store the service holds, naming the service', async () => {
  const lock = lockServeStore({ BAKEOFF_PGLITE_DIR: path.join(home, 'pglite') });
  try {
    const r = await bakeoffProcess(['pointer', '--lane', 'default'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`bakeoff: ${refusal('npm run serve (node dist/serve/main.js)', process.pid)}\n`);
    // and a second service as well
    const second = await serve();
    expect(second.stderr).toBe(`bakeoff serve: ${refusal('npm run serve (node dist/serve/main.js)', process.pid)}\n`);
  } finally {
    lock.release();
  }
  expect(fs.existsSync(path.join(home, 'pglite.lock'))).toBe(false);
}, 120_000);

test('a lock left by a process that is gone does not stop the service', async () => {
  const gone = spawn('true');
  await new Promise((r) => gone.on('close', r));
  fs.writeFileSync(path.join(home, 'pglite.lock'), JSON.stringify({ pid: gone.pid, command: 'worker' }));
  const r = await serve();
  // past the lock: it opens the (empty) store and stops at the missing lane, one line
  expect(r.stderr).not.toContain('is in use by');
  expect(r.stderr).toBe(`bakeoff serve: lane 'default' has no live baseline in ${path.join(home, 'pglite')}: create it with \`bakeoff ingest --baseline --lane default\` (or set BAKEOFF_LANE)\n`);
  expect(r.code).toBe(1);
}, 120_000);

test('the plain worker (node dist/worker.js) refuses a store the service holds, in the same words', async () => {
  const lock = lockServeStore({ BAKEOFF_PGLITE_DIR: path.join(home, 'pglite') });
  try {
    // TEMPORAL_ADDRESS names a closed port: the lock is checked before any connection is made.
    const r = await run('node', ['-r', path.join(repo, 'test/support/ts-register.js'), path.join(repo, 'src/worker.ts')], {
      env: { ...env(), TEMPORAL_ADDRESS: '127.0.0.1:1' },
      timeoutMs: 120_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bakeoff worker: ${refusal('npm run serve (node dist/serve/main.js)', process.pid)}\n`);
  } finally {
    lock.release();
  }
}, 120_000);

test('the demo refuses a store the service holds, before it starts anything', async () => {
  const lock = lockServeStore({ BAKEOFF_PGLITE_DIR: path.join(home, 'pglite') });
  try {
    const r = await run('node', ['-r', path.join(repo, 'test/support/ts-register.js'), path.join(repo, 'src/cli/demo.ts')], { env: env(), timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`demo: ${refusal('npm run serve (node dist/serve/main.js)', process.pid)}\n`);
    expect(r.stdout).toBe(''); // no Temporal server started, nothing said
  } finally {
    lock.release();
  }
}, 120_000);
