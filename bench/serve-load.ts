// /search under load on loopback: throughput and client-side p50/p95/p99 at 1, 8 and 32 concurrent
// clients, with the pointer at 0 %, 50 % and 100 %, in two cache regimes:
//   warm — the service as deployed (query-embedding, row and result caches on), traffic = the
//          subset's evaluation questions repeated (what the canary's replayer sends);
//   fresh — every query new to the service: query-embedding, result and reranker caches off, the row
//          cache on and primed (a running service's rows of an immutable served table stay cached);
//          every request encodes, runs BM25 + ANN and reranks;
//   cold — every cache off (also the rows): the worst case, right after a start or a pointer flip.
// The load generator is a second process (bench/serve-load-client.ts, forked). Routing overhead is
// measured twice: the service's own routing time (snapshot + sticky hash) per request against its
// end-to-end time, and a microbenchmark of routeSide. Figures go to stdout and docs/benchmarks.md.
// Shadow traffic (issue 14): at 8 clients, canary 0 %, the served latency with 100 % of requests
// mirrored to the candidate vs no mirror (warm and fresh), and the share of mirror work dropped at the
// concurrency bound. --mirror-only runs just those cells (and writes only their section).
//
// Data: subsetForTests(N) of the FAQ dataset (default 40 cases, ~380 documents) ingested under the
// seeds' baseline and candidate configs into a private PostgreSQL cluster kept under
// .bakeoff/bench-serve (ingest, indexes and rerankers are reused on the next run).
//
// Build + run:  npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/serve-load.js
//   [--subset 40] [--seconds 8] [--warmup 2] [--clients 1,8,32] [--percents 0,50,100] [--modes warm,fresh,cold]
//   [--mirror-only] [--mirror-concurrency 2] [--mirror-per-second 5]
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clearMirrorTarget, initLane, restoreBaselinePointer, setMirrorTarget, setSplit } from '../src/store/pointer';
import { ensurePlatformSchema } from '../src/store';
import { DataPlane } from '../src/activities/data-plane';
import { subsetForTests } from '../src/data/dataset';
import { openDb, quoteIdent, type Db } from '../src/platform/db';
import { startPostgres } from '../src/platform/postgres-server';
import { defaultBaseline, defaultCandidate, lockConfig, type LockedConfig } from '../src/rag/config';
import { Embedder } from '../src/rag/embed';
import { LearnedReranker } from '../src/rag/rerank';
import { trainTableReranker } from '../src/rag/rerank-training';
import type { HybridRetriever } from '../src/rag/retrieve';
import { readIndexPointer } from '../src/rag/serving-index';
import { startServing, type RunningService } from '../src/serve/app';
import { EncoderPool } from '../src/serve/caching-encoder';
import { calibrateTau } from '../src/serve/quality-tau';
import { routeSide } from '../src/serve/routing';
import { loadServingSide } from '../src/serve/serving-side';
import type { LoadJob, LoadResult } from './serve-load-client';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const SUBSET = Number(arg('subset', '40'));
const SECONDS = Number(arg('seconds', '8'));
const WARMUP = Number(arg('warmup', '2'));
const CLIENTS = arg('clients', '1,8,32').split(',').map(Number);
const PERCENTS = arg('percents', '0,50,100').split(',').map(Number);
type Mode = 'warm' | 'fresh' | 'cold';
const MODES = arg('modes', 'warm,fresh,cold').split(',') as Mode[];
const LANE = 'bench';
const MIRROR_ONLY = process.argv.includes('--mirror-only');
const MIRROR_CONCURRENCY = Number(arg('mirror-concurrency', '2'));
const MIRROR_PER_SECOND = Number(arg('mirror-per-second', '5'));
const MIRROR_CLIENTS = 8;
const MIRROR_REPS = Number(arg('mirror-reps', '2'));

function findRepoRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'bench', 'serve-load.ts'))) return d;
  }
  return process.cwd();
}
const repoRoot = findRepoRoot();
const workDir = path.join(process.env.BAKEOFF_HOME ?? path.join(repoRoot, '.bakeoff'), 'bench-serve');
const indexDir = path.join(workDir, 'indexes');
const log = (line: string) => console.log(`[serve-load] ${line}`);

interface Side {
  config: LockedConfig;
  ivf: string;
  rows: number;
}

/** Ingests (or finds from an earlier run) one table with its IVF index and learned reranker. */
async function ensureSide(db: Db, plane: DataPlane, config: LockedConfig, cases: Awaited<ReturnType<typeof subsetForTests>>['cases'], embedder: Embedder): Promise<Side> {
  const recorded = readIndexPointer(indexDir, config.shadow_table);
  let rows = 0;
  try {
    rows = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(config.shadow_table)} WHERE ingest_run_id = $1`, [config.ingest_run_id])).rows[0].n;
  } catch {
    rows = 0;
  }
  let ivf = recorded?.ingest_run_id === config.ingest_run_id && rows === recorded.rows ? recorded.ivf : null;
  if (!ivf) {
    log(`ingesting ${config.shadow_table} (real MiniLM embeddings; minutes on a busy machine, reused afterwards)`);
    const t0 = Date.now();
    const report = await plane.shadowIngest({ locked: config, table: config.shadow_table, dryRun: false });
    ivf = report.index!.ivf;
    rows = report.chunks;
    log(`  ${rows} chunks in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const modelFile = path.join(indexDir, config.shadow_table, config.ingest_run_id, 'reranker-faiss-ivf.json');
  if (!fs.existsSync(modelFile)) {
    const side = await loadServingSide(
      { table: config.shadow_table, index: ivf, configHash: config.config_hash },
      { db, indexDir, encoderFor: (n) => new EncoderPool(async () => embedder, 0).encoderFor(n), rowCacheSize: 0, rerank: false },
    );
    const trained = await trainTableReranker(side.retriever as HybridRetriever, cases, { source: config.shadow_table });
    new LearnedReranker(trained.model).save(modelFile);
  }
  return { config, ivf, rows };
}

/**
 * Warm mode measures the service as it runs once traffic has flowed: every question answered once by
 * each side (at 50 %, with keys the router sends to that side) before any cell is measured.
 */
async function prime(db: Db, svc: RunningService, candidate: Side, questions: string[]): Promise<void> {
  const p = await setSplit(db, { lane: LANE, candidateTable: candidate.config.shadow_table, candidateIndex: candidate.ivf, candidateConfigHash: candidate.config.config_hash, percent: 50, by: 'bench', reason: 'prime caches' });
  while (svc.watcher.current()?.pointer.version !== p.version) await new Promise((r) => setTimeout(r, 20));
  const keyFor = (side: 'baseline' | 'candidate') => {
    for (let i = 0; ; i++) if (routeSide(`prime-${i}`, 50, true) === side) return `prime-${i}`;
  };
  for (const key of [keyFor('baseline'), keyFor('candidate')]) {
    for (const query of questions) {
      const res = await fetch(`${svc.url}/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query, key }) });
      if (res.status !== 200) throw new Error(`priming got HTTP ${res.status}: ${await res.text()}`);
    }
  }
}

function runClient(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'serve-load-client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load client exited with ${code}`))));
    child.send(job);
  });
}

/** Nanoseconds per routeSide call over realistic keys. */
function routingMicrobench(): number {
  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += routeSide(keys[i % keys.length], 50, true) === 'candidate' ? 1 : 0;
  const n = 1_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += routeSide(keys[i % keys.length], 50, true) === 'candidate' ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (sink < 0) console.log(sink);
  return ns;
}

interface MirrorCell {
  mode: Mode;
  mirror: boolean;
  r: LoadResult;
  counts: { compared: number; errors: number; dropped: number };
}

interface Cell {
  mode: Mode;
  percent: number;
  clients: number;
  r: LoadResult;
  routingShare: number;
}

async function main(): Promise<void> {
  fs.mkdirSync(workDir, { recursive: true });
  const t0 = Date.now();
  const pg = await startPostgres({ dir: path.join(workDir, 'pg') });
  const db = await openDb({ url: pg.url });
  const pointerDb = await openDb({ url: pg.url, poolSize: 1 });
  try {
    await ensurePlatformSchema(db);
    const dataset = await subsetForTests(SUBSET);
    const embedder = await Embedder.load();
    const id = { embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash };
    const at = new Date('2026-11-22T00:00:00Z');
    const plane = new DataPlane({ db, dataset, indexDir, manifestDir: path.join(workDir, 'eval'), loadEmbedder: async () => embedder, rerankAudit: false, log });
    const baseline = await ensureSide(db, plane, lockConfig(defaultBaseline(id), at), dataset.cases, embedder);
    const candidate = await ensureSide(db, plane, lockConfig(defaultCandidate(id), at), dataset.cases, embedder);
    await initLane(db, { lane: LANE, liveTable: baseline.config.shadow_table, liveIndex: baseline.ivf, liveConfigHash: baseline.config.config_hash, by: 'bench' });
    const restore = () =>
      restoreBaselinePointer(db, { lane: LANE, baseline: { table: baseline.config.shadow_table, index: baseline.ivf, configHash: baseline.config.config_hash }, by: 'bench', reason: 'bench' });
    await restore();
    const served = await loadServingSide(
      { table: baseline.config.shadow_table, index: baseline.ivf, configHash: baseline.config.config_hash },
      { db, indexDir, encoderFor: (n) => new EncoderPool(async () => embedder, 0).encoderFor(n), rowCacheSize: 0 },
    );
    const tau = await calibrateTau({ retriever: served.retriever, cases: dataset.cases.filter((c) => c.split === 'train'), table: baseline.config.shadow_table, ingestRunId: baseline.config.ingest_run_id, embedder: embedder.modelId });
    log(`setup ${((Date.now() - t0) / 1000).toFixed(0)} s: baseline ${baseline.rows} chunks, candidate ${candidate.rows} chunks, τ ${tau.tau.toFixed(3)}`);

    const questions = dataset.cases.map((c) => c.question);
    const routeNs = routingMicrobench();
    const cells: Cell[] = [];
    const mirrorCells: MirrorCell[] = [];
    for (const mode of MODES) {
      // fresh keeps the service's default row cache; cold turns it off too.
      const caches = mode === 'warm' ? undefined : { embedding: 0, results: 0, ...(mode === 'cold' ? { rows: 0 } : {}) };
      const svc: RunningService = await startServing({
        db, pointerDb, lane: LANE, tau: tau.tau, indexDir, loadEmbedder: async () => embedder, caches,
        reranker: mode === 'warm' ? undefined : { cacheSize: 0 },
        mirrorConcurrency: MIRROR_CONCURRENCY,
        mirrorPerSecond: MIRROR_PER_SECOND,
        http: { rateLimit: { perSecond: 100_000, burst: 100_000 }, maxInFlight: 10_000 },
      });
      try {
        if (mode !== 'cold') await prime(db, svc, candidate, questions);
        for (const percent of MIRROR_ONLY ? [] : PERCENTS) {
          const p = percent === 0 ? await restore() : await setSplit(db, { lane: LANE, candidateTable: candidate.config.shadow_table, candidateIndex: candidate.ivf, candidateConfigHash: candidate.config.config_hash, percent, by: 'bench', reason: 'bench' });
          while (svc.watcher.current()?.pointer.version !== p.version) await new Promise((r) => setTimeout(r, 20));
          for (const clients of CLIENTS) {
            const r = await runClient({ url: svc.url, clients, warmupMs: WARMUP * 1000, durationMs: SECONDS * 1000, questions, users: 10_000, seed: clients * 101 + percent });
            const routingShare = r.serverMs.total > 0 ? r.serverMs.route / r.latencyMs.mean : 0;
            cells.push({ mode, percent, clients, r, routingShare });
            log(
              `${mode} ${String(percent).padStart(3)} % ${String(clients).padStart(2)} clients: ${r.rps.toFixed(1)} req/s, p50 ${r.latencyMs.p50.toFixed(1)} p95 ${r.latencyMs.p95.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)} ms, ` +
                `errors ${r.errors}, cached ${(r.cachedShare * 100).toFixed(0)} %, server encode/search/rerank ${r.serverMs.encode.toFixed(1)}/${r.serverMs.search.toFixed(1)}/${r.serverMs.rerank.toFixed(1)} ms, routing ${(routingShare * 100).toFixed(3)} % of e2e`,
            );
          }
        }
        if (mode !== 'cold') {
          // Mirror off, then 100 % mirrored to the candidate, canary 0 % in both.
          await restore();
          // Alternated (off, on, off, on …) so drift in the shared machine's load hits both alike.
          for (const mirror of Array.from({ length: 2 * MIRROR_REPS }, (_, i) => i % 2 === 1)) {
            const p = mirror
              ? await setMirrorTarget(db, { lane: LANE, workflowId: 'bench', table: candidate.config.shadow_table, index: candidate.ivf, configHash: candidate.config.config_hash, percent: 100, by: 'bench', reason: 'bench' })
              : await clearMirrorTarget(db, { lane: LANE, by: 'bench', reason: 'bench' });
            while (svc.watcher.current()?.pointer.version !== p.version) await new Promise((r) => setTimeout(r, 20));
            const before = svc.kpis.mirrorCounts();
            const r = await runClient({ url: svc.url, clients: MIRROR_CLIENTS, warmupMs: WARMUP * 1000, durationMs: SECONDS * 1000, questions, users: 10_000, seed: 808 });
            await svc.service.mirrorGate.drain();
            const after = svc.kpis.mirrorCounts();
            const counts = { compared: after.compared - before.compared, errors: after.errors - before.errors, dropped: after.dropped - before.dropped };
            mirrorCells.push({ mode, mirror, r, counts });
            log(`${mode} mirror ${mirror ? '100 %' : 'off  '} ${MIRROR_CLIENTS} clients: ${r.rps.toFixed(1)} req/s, p50 ${r.latencyMs.p50.toFixed(1)} p95 ${r.latencyMs.p95.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)} ms, mirror compared ${counts.compared} errors ${counts.errors} dropped ${counts.dropped}`);
          }
          await clearMirrorTarget(db, { lane: LANE, by: 'bench', reason: 'bench over' });
        }
      } finally {
        await svc.close();
      }
    }
    await restore();
    if (!MIRROR_ONLY) writeReport(cells, { routeNs, baselineRows: baseline.rows, candidateRows: candidate.rows, docs: dataset.docs.length, cases: dataset.cases.length });
    writeMirrorReport(mirrorCells, { docs: dataset.docs.length, cases: dataset.cases.length });
  } finally {
    await pointerDb.close();
    await db.close();
    await pg.stop();
  }
}

function writeReport(cells: Cell[], ctx: { routeNs: number; baselineRows: number; candidateRows: number; docs: number; cases: number }): void {
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  const rows = cells.map(
    (c) =>
      `| ${c.mode} | ${c.percent} % | ${c.clients} | ${c.r.rps.toFixed(1)} | ${c.r.latencyMs.p50.toFixed(1)} | ${c.r.latencyMs.p95.toFixed(1)} | ${c.r.latencyMs.p99.toFixed(1)} | ${c.r.errors} | ${(c.r.cachedShare * 100).toFixed(0)} % | ${c.r.serverMs.encode.toFixed(1)} / ${c.r.serverMs.search.toFixed(1)} / ${c.r.serverMs.rerank.toFixed(1)} | ${(c.routingShare * 100).toFixed(3)} % |`,
  );
  const at8 = cells.filter((c) => c.clients === 8);
  const verdict = (mode: string) => {
    const xs = at8.filter((c) => c.mode === mode);
    if (xs.length === 0) return 'not run';
    const worst = Math.max(...xs.map((c) => c.r.latencyMs.p95));
    return `worst p95 at 8 clients ${worst.toFixed(1)} ms — ${worst <= 25 ? 'meets' : 'misses'} the 25 ms target`;
  };
  const maxRouting = Math.max(...cells.map((c) => c.routingShare));
  const saturation = () =>
    (['fresh', 'cold'] as const)
      .map((mode) => {
        const xs = cells.filter((c) => c.mode === mode);
        if (xs.length === 0) return '';
        const peak = Math.max(...xs.map((c) => c.r.rps));
        const at8 = xs.filter((c) => c.clients === 8).map((c) => c.r.rps);
        return `${mode}: the service peaks at ${peak.toFixed(0)} req/s${at8.length ? `, so 8 clients wait ≈ ${((8 / Math.max(...at8)) * 1000).toFixed(0)}–${((8 / Math.min(...at8)) * 1000).toFixed(0)} ms on average` : ''}.`;
      })
      .filter(Boolean)
      .join(' ');
  const section = `<!-- serve-load:begin -->
## Serving: /search under load (bench/serve-load.ts)

Machine: 2 cores (shared with other work while measured; load average ${load} at the end of the run), 24 GiB RAM. Date: ${new Date().toISOString().slice(0, 10)}.
Service: \`startServing\` (plain node:http) on loopback against a private PostgreSQL 15 cluster; load generator in a second
process (bench/serve-load-client.ts, closed loop, keep-alive). Data: FAQ subset of ${ctx.cases} cases / ${ctx.docs} documents;
baseline ${ctx.baselineRows} chunks (512 tokens, no overlap), candidate ${ctx.candidateRows} chunks (450 tokens, 10 % overlap, prefix A);
FAISS IVF + BM25 (PostgreSQL tsvector) fused by RRF, learned reranker, all-MiniLM-L6-v2 (quantized) for queries.
Each cell: ${WARMUP} s warm-up, then ${SECONDS} s measured. Latencies are client-side end to end (ms); "server" columns are the
service's own mean stage times for the same requests. warm = caches on and primed (each question answered once per side), the ${ctx.cases}
questions repeated in random order; fresh = every query new to the service (query-embedding, answer and reranker caches off;
the row cache on and primed, as in a running service); cold = every cache off (rows too), as right after a start.

| mode | canary | clients | req/s | p50 | p95 | p99 | errors | cached | server encode / search / rerank (ms) | routing / e2e |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

- Target e2e p95 ≤ 25 ms at 8 clients: warm: ${verdict('warm')}; fresh: ${verdict('fresh')}; cold: ${verdict('cold')}.
- Why fresh and cold queries miss at 8 clients: an uncached search is CPU work — the MiniLM forward pass (onnxruntime's
  threads), BM25 in PostgreSQL, (cold only) fetching the snapshot's ~60 rows, reranker features — and the 2 cores saturate.
  ${saturation()} Closed-loop clients queue for the CPU, so by Little's law their mean wait is clients ÷ throughput; a p95
  ≤ 25 ms at 8 clients needs well over 8 / 0.025 = 320 req/s, i.e. ≤ ~6 ms of CPU per fresh request, a third of what the
  model, BM25 and reranker cost here. bench/search-stages.ts breaks an uncached search down stage by stage. Warm is the
  canary's steady state (the replayer repeats the evaluation questions); fresh is live traffic of distinct questions.
- Routing overhead (pointer snapshot + sticky hash, measured inside the service per request): at most ${(maxRouting * 100).toFixed(3)} % of mean e2e
  time (target ≤ 5 %); \`routeSide\` alone costs ${ctx.routeNs.toFixed(0)} ns per call (1 M calls, microbenchmark).
<!-- serve-load:end -->
`;
  console.log('\n' + section);
  const file = path.join(repoRoot, 'docs', 'benchmarks.md');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\nMeasured on this project\'s machines; each section names the script that produced it.\n\n';
  const re = /<!-- serve-load:begin -->[\s\S]*?<!-- serve-load:end -->\n?/;
  fs.writeFileSync(file, re.test(existing) ? existing.replace(re, section) : `${existing.trimEnd()}\n\n${section}`);
  log(`wrote ${path.relative(repoRoot, file)}`);
}

function replaceSection(begin: string, end: string, section: string): void {
  const file = path.join(repoRoot, 'docs', 'benchmarks.md');
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const re = new RegExp(`${begin}[\\s\\S]*?${end}\\n?`);
  fs.writeFileSync(file, re.test(existing) ? existing.replace(re, section) : `${existing.trimEnd()}\n\n${section}`);
  log(`wrote ${path.relative(repoRoot, file)}`);
}

function writeMirrorReport(cells: MirrorCell[], ctx: { docs: number; cases: number }): void {
  if (cells.length === 0) return;
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  const share = (c: MirrorCell) => {
    const attempted = c.counts.compared + c.counts.errors + c.counts.dropped;
    return attempted === 0 ? '–' : `${((c.counts.dropped / attempted) * 100).toFixed(1)} %`;
  };
  const rows = cells.map(
    (c) =>
      `| ${c.mode} | ${c.mirror ? '100 %' : 'off'} | ${c.r.rps.toFixed(1)} | ${c.r.latencyMs.p50.toFixed(1)} | ${c.r.latencyMs.p95.toFixed(1)} | ${c.r.latencyMs.p99.toFixed(1)} | ${c.r.errors} | ${c.mirror ? `${c.counts.compared} / ${c.counts.errors} / ${c.counts.dropped}` : '–'} | ${c.mirror ? share(c) : '–'} |`,
  );
  const ratio = (mode: Mode) => {
    const mean = (xs: MirrorCell[]) => xs.reduce((s, c) => s + c.r.latencyMs.p95, 0) / xs.length;
    const off = cells.filter((c) => c.mode === mode && !c.mirror);
    const on = cells.filter((c) => c.mode === mode && c.mirror);
    if (off.length === 0 || on.length === 0) return `${mode}: not run`;
    const x = mean(on) / mean(off);
    return `${mode}: mean p95 ${mean(on).toFixed(1)} ms mirrored vs ${mean(off).toFixed(1)} ms off (${on.length} + ${off.length} cells) = ${x.toFixed(2)}×${mode === 'warm' ? ` (target ≤ 1.2×: ${x <= 1.2 ? 'met' : 'missed'})` : ''}`;
  };
  const section = `<!-- serve-mirror:begin -->
## Serving with shadow traffic: mirror on/off (bench/serve-load.ts)

Machine: 2 cores (shared with other work while measured; load average ${load} at the end of the run), 24 GiB RAM. Date: ${new Date().toISOString().slice(0, 10)}.
Same service, data (${ctx.cases} cases / ${ctx.docs} documents) and load generator as the serve-load section; canary 0 %,
${MIRROR_CLIENTS} closed-loop clients, ${WARMUP} s warm-up + ${SECONDS} s measured per cell. "100 %": the pointer mirrors every request
to the candidate table; each mirror job answers the request cold from both sides (baseline, then candidate) after
the response is written, at most ${MIRROR_CONCURRENCY} jobs at once and ${MIRROR_PER_SECOND} started per second, the rest dropped and counted. Latencies are the served (client-side) ones.

\`npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/serve-load.js --mirror-only --modes warm,fresh\`

| mode | mirror | req/s | p50 | p95 | p99 | errors | mirror compared / errors / dropped | dropped share |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

- ${ratio('warm')}; ${ratio('fresh')}.
<!-- serve-mirror:end -->
`;
  console.log('\n' + section);
  replaceSection('<!-- serve-mirror:begin -->', '<!-- serve-mirror:end -->', section);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
