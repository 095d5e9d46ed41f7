// The store commands (backup create / list / restore --confirm, pointer --history) on the real
// PostgreSQL, and `bakeoff worker` as a real process with the real runtime on the embedded PGlite store:
// it runs real activities (a bakeoff on a lane that does not exist fails at its first database step,
// with the reason in the status), holds the store's lock so a second process is told who has it, and
// drains and exits on SIGTERM.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setSplit } from '../../src/store/pointer';
import { quoteIdent } from '../../src/platform/db';
import { BASELINE_TABLE } from '../workflows/harness';
import { bakeoffBinDir, bakeoffInProcess, bakeoffProcess } from '../support/cli';
import { createLane, createOpsRig, pointerActions, pointerState, waitForStatus, writeInputFile, type OpsRig } from './rig';

let rig: OpsRig;
beforeAll(async () => {
  rig = await createOpsRig('store');
});
afterAll(async () => {
  await rig?.close();
});

test('backup create, list, restore (only with --confirm) and the pointer history', async () => {
  const lane = 'st_main';
  await createLane(rig.db, lane);
  const created = await bakeoffProcess(['backup', 'create', '--lane', lane, '--by', 'ops'], rig.env);
  expect(created.code).toBe(0);
  const backupId = /^backup (bk_st_main_[0-9a-f]{12}): 30 rows of document_chunks_v512_o0_nodedup, pointer v1 \(live document_chunks_v512_o0_nodedup\)$/m.exec(created.stdout)?.[1];
  expect(backupId).toBeDefined();

  const listed = await bakeoffInProcess(['backup', 'list', '--lane', lane, '--json'], rig.env);
  expect(listed.stdout.split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ backupId, lane, sourceTable: BASELINE_TABLE, rows: 30 })]);

  // Damage: half the live rows gone, and a canary split someone left behind.
  await rig.db.query(`DELETE FROM ${quoteIdent(BASELINE_TABLE)} WHERE chunk_id IN (SELECT chunk_id FROM ${quoteIdent(BASELINE_TABLE)} ORDER BY chunk_id LIMIT 15)`);
  await rig.db.exec(`CREATE TABLE IF NOT EXISTS document_chunks_v_left (chunk_id text PRIMARY KEY)`);
  await setSplit(rig.db, { lane, candidateTable: 'document_chunks_v_left', candidateIndex: null, candidateConfigHash: 'left-behind', percent: 25, by: 'someone', reason: 'left behind' });

  const dry = await bakeoffInProcess(['backup', 'restore', backupId!], rig.env);
  expect(dry.code).toBe(2);
  expect(dry.stdout).toBe(`would restore ${backupId}: replace the rows of ${BASELINE_TABLE} with the 30 backed-up rows and set lane ${lane}'s pointer back to v1 (live ${BASELINE_TABLE}, 0 % canary)`);
  expect(dry.stderr).toBe(`bakeoff: refusing to restore without --confirm: bakeoff backup restore ${backupId} --confirm`);
  expect((await pointerState(rig.db, lane)).canary_percent).toBe(25);

  const restored = await bakeoffProcess(['backup', 'restore', backupId!, '--confirm', '--by', 'ops'], rig.env);
  expect(restored.code).toBe(0);
  expect(restored.stdout).toMatch(new RegExp(`^restored ${backupId}: 30 rows in ${BASELINE_TABLE}; lane ${lane} pointer now v3 \\(live ${BASELINE_TABLE}, canary 0 %, cache epoch \\d+\\)$`, 'm'));
  expect(await pointerState(rig.db, lane)).toMatchObject({ live_table: BASELINE_TABLE, candidate_table: null, canary_percent: 0, version: 3 });
  expect(await pointerActions(rig.db, lane)).toEqual(['init', 'split:25', 'restore']);

  const hist = await bakeoffInProcess(['pointer', '--lane', lane, '--history'], rig.env);
  expect(hist.stdout).toMatch(/^v2\s+split\s+document_chunks_v512_o0_nodedup\s+document_chunks_v_left\s+25\s+someone\s+.*left behind$/m);
  expect(hist.stdout).toMatch(new RegExp(`^v3\\s+restore\\s+${BASELINE_TABLE}\\s+—\\s+0\\s+ops\\s+.*restored backup ${backupId}$`, 'm'));

  for (const [args, stderr] of [
    [['backup', 'restore', 'bk_nope', '--confirm'], "bakeoff: no backup 'bk_nope' (list them with `bakeoff backup list`)"],
    [['pointer', '--lane', 'nolane'], "bakeoff: lane 'nolane' has no pointer (bakeoff ingest --baseline creates it)"],
    [['backup', 'create', '--lane', 'Bad-Lane'], 'bakeoff: --lane "Bad-Lane": lane must be lowercase letters, digits, _ (max 31 chars)'],
  ] as const) {
    const r = await bakeoffInProcess([...args], rig.env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr });
  }
});

test('bakeoff worker: real activities on the embedded PGlite store, holds its lock, drains on SIGTERM', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-worker-'));
  const queue = `${rig.taskQueue}-proc`;
  const env = { ...rig.env, BAKEOFF_HOME: home, BAKEOFF_TASK_QUEUE: queue, DATABASE_URL: undefined };
  const worker = spawn(path.join(bakeoffBinDir(), 'bakeoff'), ['worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 90_000;
    while (!stderr.includes('[worker] polling') && Date.now() < deadline && worker.exitCode === null) await new Promise((r) => setTimeout(r, 200));
    expect(stderr).toContain(`[worker] polling task queue '${queue}' on ${rig.address} (namespace default); store: PGlite ${path.join(home, 'pglite')}`);

    // A second process cannot open the same embedded store, and is told who holds it.
    const locked = await bakeoffInProcess(['backup', 'list'], env);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toBe(
      `bakeoff: the embedded PGlite store ${path.join(home, 'pglite')} is in use by \`bakeoff worker\` (pid ${worker.pid}): stop it first, or set DATABASE_URL (PostgreSQL) so several processes can share the store`,
    );

    // Real activities: the lane has no pointer in this fresh store, so the bakeoff fails before changing anything.
    const started = await bakeoffInProcess(['start', '--config', writeInputFile(home, 'w', 'nolane', 'v450_w'), '--quiet'], env);
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    const s = await waitForStatus(rig.client, id, (x) => x.phase === 'failed', 60_000);
    expect(s.failure).toBe("locking: serving lane 'nolane' has no pointer row: ingest a baseline and create the lane first");
    const st = await bakeoffInProcess(['status', id], env);
    expect(st.stdout).toMatch(/^Failure\s+locking: serving lane 'nolane' has no pointer row/m);
  } finally {
    worker.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(stderr).toContain('[worker] stopped');
  // The lock went with it.
  const after = await bakeoffInProcess(['backup', 'list'], { ...env });
  expect(after).toMatchObject({ code: 0, stdout: 'no backups' });
  fs.rmSync(home, { recursive: true, force: true });
});
