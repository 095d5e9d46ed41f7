/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// evaluatePair on real PostgreSQL (BAKEOFF_TEST_PG_URL), the real model, real FAISS and the real FAQ
// subset: both sides in one activity, case by case, the side that goes first alternating; each side's
// metrics are those of its own separate evaluation on the same cases, and the offline latency gate
// judges the pair on its per-case latencies.
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDataPlaneActivities, DataPlane } from '../../src/activities/data-plane';
import type { EvalReport } from '../../src/activities/types';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import type { LockedConfig } from '../../src/rag/config';
import { judgeOffline } from '../../src/workflows/gates';
import { OfflineThresholdsSchema } from '../../src/workflows/messages';
import { baselineConfig, candidateConfig, faqSubset, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

let db: Db;
let tmp: string;
let plane: DataPlane;
let activities: ReturnType<typeof createDataPlaneActivities>;
let candidate: LockedConfig;
let baseline: LockedConfig;
/** The table of every answer-bearing-chunk lookup, in order: one per case and side (evaluateCase). */
const caseOrder: string[] = [];

function mockEnv(): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
}

function run<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return mockEnv().run(fn, input) as Promise<O>;
}

beforeAll(async () => {
  const dataset = await faqSubset(16);
  const embedder = new MemoEmbedder(await realEmbedder());
  db = await openDb({ url: process.env.BAKEOFF_TEST_PG_URL });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-pair-'));
  candidate = candidateConfig(embedder, 'v450_o10_j80_a_pair');
  baseline = baselineConfig(embedder, 'v512_o0_nodedup_pair');
  for (const c of [candidate, baseline]) await new ChunkStore(db, c.shadow_table, embedder.dims).drop();
  // The real database, watched: which table each case's answer-bearing chunks are looked up in.
  const watched = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'query' || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return (sql: string, params?: unknown[]) => {
        const m = /^SELECT chunk_id FROM "?([a-z0-9_]+)"? WHERE doc_id = \$1 AND byte_start/.exec(sql);
        if (m) caseOrder.push(m[1]);
        return target.query(sql, params);
      };
    },
  });
  plane = new DataPlane({ db: watched, dataset, loadEmbedder: async () => embedder, indexDir: path.join(tmp, 'indexes'), manifestDir: path.join(tmp, 'eval'), ingestBatchSize: 16 });
  activities = createDataPlaneActivities(plane);
  for (const c of [candidate, baseline]) await run(activities.shadowIngest, { locked: c, table: c.shadow_table, dryRun: true });
}, 600_000);

afterAll(async () => {
  await plane?.close();
  if (db) for (const c of [candidate, baseline]) await db.exec(`DROP TABLE IF EXISTS ${c.shadow_table}`).catch(() => undefined);
  await db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sameScores = (paired: EvalReport, alone: EvalReport) => {
  expect(paired.cases).toBe(alone.cases);
  expect(paired.metrics).toEqual(alone.metrics);
  expect(paired.perCase).toEqual(alone.perCase);
};

test('one activity evaluates both sides case by case, alternating who goes first; metrics equal two separate evaluations', async () => {
  const side = (c: LockedConfig, who: string) => ({ table: c.shadow_table, index: null, runLabel: `pair-test/${who}` });
  caseOrder.length = 0;
  const pair = await run(activities.evaluatePair, { caseSetRef: 'faq:all', k: 10, candidate: side(candidate, 'candidate'), baseline: side(baseline, 'baseline') });
  const order = [...caseOrder];
  const n = pair.candidate.cases;
  expect(n).toBeGreaterThan(4);
  // c b, b c, c b, …: each case of one side is followed by the same case of the other.
  const c = candidate.shadow_table;
  const b = baseline.shadow_table;
  expect(order).toEqual(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? [c, b] : [b, c])).flat());

  const [alone, aloneBaseline] = [
    await run(activities.evaluate, { side: 'candidate', table: c, index: null, caseSetRef: 'faq:all', k: 10, runLabel: 'alone/candidate' }),
    await run(activities.evaluate, { side: 'baseline', table: b, index: null, caseSetRef: 'faq:all', k: 10, runLabel: 'alone/baseline' }),
  ];
  sameScores(pair.candidate, alone);
  sameScores(pair.baseline, aloneBaseline);

  const p = pair.candidate.pairedLatency!;
  expect(p.caseIdsSha256).toBe(alone.perCase!.caseIdsSha256);
  expect(p.candidateTotalMs).toHaveLength(n);
  expect(p.baselineTotalMs).toHaveLength(n);
  expect(p.candidateFirst).toBe(Math.ceil(n / 2));
  for (const ms of [...p.candidateTotalMs, ...p.baselineTotalMs]) expect(ms).toBeGreaterThan(0);
  expect(pair.baseline.pairedLatency).toBeUndefined();

  // The offline latency gate reads the pair: per-case ratios, both p95s beside them.
  const t = OfflineThresholdsSchema.parse({});
  const gate = judgeOffline(pair.candidate, pair.baseline, t).find((g) => g.name === 'p95_total_ms')!;
  expect(gate.reason).toMatch(new RegExp(`paired on ${n} cases timed in turn on one worker: per-case latency ratio ×[0-9.]+`));
  expect(gate.value).toBe(pair.candidate.latencyMs.total.p95);
  expect(gate.baseline).toBe(pair.baseline.latencyMs.total.p95);
}, 600_000);

test('evaluatePair refuses a bad input in one line naming the field', async () => {
  await expect(
    run(activities.evaluatePair, { caseSetRef: 'faq:dev', k: 10, candidate: { table: 'Robert"); DROP', index: null, runLabel: 'x' }, baseline: { table: baseline.shadow_table, index: null, runLabel: 'y' } }),
  ).rejects.toThrow(/^invalid evaluatePair input: .*candidate\.table/);
});
