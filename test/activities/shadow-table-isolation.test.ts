// Issue 12 item 1: a candidate can never ingest into a table that is being served or that another
// running bakeoff / ingest holds. Real PostgreSQL, the real DataPlane.shadowIngest inside the SDK's
// activity environment, and the real `bakeoff ingest` command (in-process). The embedding model is the
// one stand-in: every refusal happens before the model is loaded, so the data plane is given a loader
// that fails with a marker — reaching the marker proves the table check let the ingest through.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ensurePlatformSchema } from '../../src/activities';
import { DataPlane } from '../../src/activities/data-plane';
import type { ShadowIngestReport, LockedConfig } from '../../src/activities/types';
import { openDb, quoteIdent, type Db } from '../../src/platform/db';
import { defaultCandidate, lockConfig, parseLockedConfig } from '../../src/rag/config';
import { claimLane, releaseLane } from '../../src/store/lane-lease';
import { initLane, setSplit } from '../../src/store/pointer';
import { claimShadowTable } from '../../src/store/shadow-table-claim';
import { bakeoffInProcess } from '../support/cli';
import { freshPgDatabase } from '../support/serve-fixture';
import { createChunkTable } from '../fixtures/data-plane';
import { bySize, ReliabilityRecorder } from '../support/reliability-record';

const PG_URL = process.env.BAKEOFF_TEST_PG_URL;
if (!PG_URL) throw new Error('the isolation tests need the real PostgreSQL cluster (BAKEOFF_TEST_PG_URL)');
const ID = { embedder: 'all-MiniLM-L6-v2', tokenizer: 'all-MiniLM-L6-v2', tokenizer_hash: 'ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12' };
const NOT_REACHED = 'ingest went past the table check (embedder requested)';
const ROUNDS = bySize(50, 200);
const recorder = new ReliabilityRecorder('coordination-tables');

let dbUrl: string;
let db: Db;
let plane: DataPlane;

beforeAll(async () => {
  // A database of its own on the suite's ephemeral cluster (dropped with the cluster).
  dbUrl = await freshPgDatabase(`isolation_${randomBytes(6).toString('hex')}`);
  db = await openDb({ url: dbUrl, poolSize: 4 });
  await ensurePlatformSchema(db);
  plane = new DataPlane({ db, loadEmbedder: () => Promise.reject(new Error(NOT_REACHED)) });
});
afterAll(async () => {
  await db?.close();
});

const candidate = (chunkVersion: string, chunkSize = 450) => lockConfig({ ...defaultCandidate(ID, chunkVersion, 'test'), chunk_size: chunkSize });

/** shadowIngest as the bakeoff `workflowId` runs it (an activity), or as a plain caller when null. */
async function ingestAs(workflowId: string | null, locked: LockedConfig, table = locked.shadow_table, dryRun = false): Promise<Error> {
  const run: Promise<ShadowIngestReport> =
    workflowId === null
      ? plane.shadowIngest({ locked, table, dryRun }, { claimant: 'ingest:test' })
      : (new MockActivityEnvironment({ workflowExecution: { workflowId, runId: 'run-1' } }, { logger: new DefaultLogger('ERROR') }).run(
          (i: { locked: LockedConfig; table: string; dryRun: boolean }) => plane.shadowIngest(i),
          { locked, table, dryRun },
        ) as Promise<ShadowIngestReport>);
  return run.then(
    () => {
      throw new Error('expected the ingest to stop');
    },
    (e: Error) => e,
  );
}

const rows = async (table: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(table)}`)).rows[0].n;

/** Ingests into a table in use, counted for docs/reliability.md before each assertion. */
const tally = { tried: 0, rejected: 0, wronglyAccepted: 0 };
afterAll(() => {
  recorder.input({
    inputClass: 'ingest into a served or claimed shadow table (live, canary, another bakeoff\'s, a running CLI ingest\'s)', tried: tally.tried,
    outcome: 'refused before anything was written: ShadowTableInUse naming the lane or holder', rejected: tally.rejected,
    wronglyAccepted: tally.wronglyAccepted, crashes: tally.tried - tally.rejected - tally.wronglyAccepted,
  });
});

function expectInUse(err: Error, message: string): void {
  tally.tried++;
  if ((err as ApplicationFailure).type === 'ShadowTableInUse') tally.rejected++;
  else if (err.message === NOT_REACHED) tally.wronglyAccepted++;
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'ShadowTableInUse', nonRetryable: true, message });
}

describe('shadow table names carry the config hash', () => {
  test('a candidate reusing the live chunk_version gets a table of its own', () => {
    const live = candidate('v450_shared', 512);
    const cand = candidate('v450_shared', 450);
    expect(cand.shadow_table).not.toBe(live.shadow_table);
    expect(cand.shadow_table).toBe(`document_chunks_v450_shared_${cand.config_hash.slice(0, 8)}`);
  });

  test('the longest chunk_version stays within 63 characters and still tells configs apart', () => {
    const v = `v${'x'.repeat(40)}`;
    const a = candidate(v, 400);
    const b = candidate(v, 401);
    for (const t of [a.shadow_table, b.shadow_table]) {
      expect(t.length).toBeLessThanOrEqual(63);
      expect(quoteIdent(t)).toBe(`"${t}"`); // a safe identifier as it stands
    }
    expect(a.shadow_table).not.toBe(b.shadow_table);
  });

  test('a config locked before the hash was in the name (a running bakeoff replaying) still parses', () => {
    const c = candidate('v450_old');
    expect(parseLockedConfig({ ...c, shadow_table: 'document_chunks_v450_old' }).shadow_table).toBe('document_chunks_v450_old');
    expect(() => parseLockedConfig({ ...c, shadow_table: 'document_chunks_v450_other' })).toThrow(/shadow_table document_chunks_v450_other must be document_chunks_v450_old_/);
  });
});

describe('shadowIngest refuses a table in use', () => {
  test("the live table of a lane: refused before anything is written (a pre-hash candidate reusing the live chunk_version)", async () => {
    // The live table and a candidate locked before names carried the hash: same name.
    const live = 'document_chunks_v450_live';
    await createChunkTable(db, live, 25, 'live');
    await initLane(db, { lane: 'iso_live', liveTable: live, by: 'test' });
    const old = parseLockedConfig({ ...candidate('v450_live', 300), shadow_table: live });
    expectInUse(await ingestAs('wf-cand', old), `shadow table ${live} is the live table of lane 'iso_live': refusing to ingest into it`);
    expectInUse(await ingestAs(null, old), `shadow table ${live} is the live table of lane 'iso_live': refusing to ingest into it`);
    expectInUse(await ingestAs('wf-dry', old, live, true), `shadow table ${live} is the live table of lane 'iso_live': refusing to ingest into it`);
    expect(await rows(live)).toBe(25);
  });

  test('the canary candidate of a lane', async () => {
    const c = candidate('v450_canary');
    await createChunkTable(db, 'live_canary_lane', 5, 'x');
    await initLane(db, { lane: 'iso_canary', liveTable: 'live_canary_lane', by: 'test' });
    await setSplit(db, { lane: 'iso_canary', candidateTable: c.shadow_table, candidateIndex: null, candidateConfigHash: c.config_hash, percent: 10, by: 'operator', reason: 'test' });
    expectInUse(await ingestAs('wf-other', c), `shadow table ${c.shadow_table} is the canary candidate of lane 'iso_canary': refusing to ingest into it`);
  });

  test('a table another running bakeoff claimed; free again once that bakeoff released its lane', async () => {
    const c = candidate('v450_claimed');
    await initLane(db, { lane: 'iso_a', liveTable: 'live_a', by: 'test' });
    await claimLane(db, { lane: 'iso_a', workflowId: 'wf-a', by: 'a' });
    expect((await ingestAs('wf-a', c)).message).toBe(NOT_REACHED);
    expect((await ingestAs('wf-a', c)).message).toBe(NOT_REACHED); // a retried attempt: its own claim
    const refused = `shadow table ${c.shadow_table} is claimed by running bakeoff wf-a (ingest run ${c.ingest_run_id}): refusing to ingest into it`;
    expectInUse(await ingestAs('wf-b', c), refused);
    expectInUse(await ingestAs(null, c), refused);
    await releaseLane(db, { lane: 'iso_a', workflowId: 'wf-a' });
    expect((await ingestAs('wf-b', c)).message).toBe(NOT_REACHED);
  });

  test("a running CLI ingest's table; the CLI's own claim ends with its ingest", async () => {
    const c = candidate('v450_cli');
    await claimShadowTable(db, c.shadow_table, { workflowId: null, claimant: 'ingest:alice@host:1', ingestRunId: c.ingest_run_id, configHash: c.config_hash });
    const err = await ingestAs('wf-c', c);
    expectInUse(err, expect.stringMatching(new RegExp(`^shadow table ${c.shadow_table} is claimed by a running ingest ${c.ingest_run_id} of ingest:alice@host:1 \\(last progress .*Z\\): refusing to ingest into it$`)) as never);
    await db.query('DELETE FROM shadow_table_claim WHERE table_name = $1', [c.shadow_table]);
    expect((await ingestAs(null, c)).message).toBe(NOT_REACHED);
    expect((await db.query('SELECT 1 FROM shadow_table_claim WHERE table_name = $1', [c.shadow_table])).rows).toHaveLength(0);
  });

  test(`${ROUNDS} rounds of two running bakeoffs claiming one table on two connections: exactly one wins`, async () => {
    await initLane(db, { lane: 'iso_r1', liveTable: 'live_r', by: 'test' });
    await initLane(db, { lane: 'iso_r2', liveTable: 'live_r', by: 'test' });
    let bothWon = 0;
    let checksPassed = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const [x, y] = [`wf-rx${i}`, `wf-ry${i}`];
      await claimLane(db, { lane: 'iso_r1', workflowId: x, by: 'x' });
      await claimLane(db, { lane: 'iso_r2', workflowId: y, by: 'y' });
      const c = candidate(`v450_race${i}`);
      const claim = (wf: string) => claimShadowTable(db, c.shadow_table, { workflowId: wf, claimant: `bakeoff:${wf}`, ingestRunId: c.ingest_run_id, configHash: c.config_hash });
      const results = await Promise.allSettled([claim(x), claim(y)]);
      const winners = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter((r) => r.status === 'rejected' && (r.reason as ApplicationFailure).type === 'ShadowTableInUse').length;
      if (winners > 1) bothWon++;
      if (winners === 1 && refused === 1) checksPassed++;
      await releaseLane(db, { lane: 'iso_r1', workflowId: x });
      await releaseLane(db, { lane: 'iso_r2', workflowId: y });
    }
    recorder.fault({
      fault: 'two running bakeoffs claiming one shadow table at once (two connections)', where: 'ingesting', injected: ROUNDS,
      outcome: `${checksPassed} round(s) one claim won and the other was refused (ShadowTableInUse); ${bothWon} both won`,
      lost: 0, duplicated: 0, appliedTwice: bothWon, checks: ROUNDS, checksPassed,
    });
    expect(bothWon).toBe(0);
    expect(checksPassed).toBe(ROUNDS);
  });
});

test('`bakeoff ingest` refuses the live table with the same line, and writes nothing', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-iso-'));
  try {
    const c = candidate('v450_clilive');
    // The candidate is exactly the live config: its own shadow table is what the lane serves.
    await createChunkTable(db, c.shadow_table, 12, 'served');
    await initLane(db, { lane: 'iso_cli', liveTable: c.shadow_table, liveConfigHash: c.config_hash, by: 'test' });
    const file = path.join(home, 'candidate.json');
    fs.writeFileSync(file, JSON.stringify(defaultCandidate(ID, 'v450_clilive', 'test')));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, USER: 'iso-test', BAKEOFF_HOME: home, DATABASE_URL: dbUrl };
    const r = await bakeoffInProcess(['ingest', '--config', file], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr.trim().split('\n').pop()).toBe(`bakeoff: shadow table ${c.shadow_table} is the live table of lane 'iso_cli': refusing to ingest into it`);
    const viaTable = await bakeoffInProcess(['ingest', '--config', file, '--table', 'document_chunks_v450_live'], env);
    expect(viaTable.stderr.trim().split('\n').pop()).toBe(`bakeoff: shadow table document_chunks_v450_live is the live table of lane 'iso_live': refusing to ingest into it`);
    expect(await rows(c.shadow_table)).toBe(12);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
