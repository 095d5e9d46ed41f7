// Query latency per stage at 100k chunks: encode (the real MiniLM model on the real FAQ questions),
// ANN search (FAISS IVF, nprobe swept to overlap@10 ≥ 0.95 with flat on those questions) and rerank
// (RerankerService + the learned reranker over a 50-candidate snapshot, cache off: the model's cost)
// and the lexical leg (ChunkStore.lexicalSearch, k 50 — for a BM25 table that is the in-process index
// serving loads, src/rag/lexical-memory-index.ts — over an in-memory PGlite table holding the same 100k
// rows' texts; timed on every question, the SQL BM25 oracle and legacy ts_rank_cd on the first
// --sql-questions of them, as they take ~0.5 s a query at 100k; bench/lexical-latency.ts).
// Targets (issue 3): encode ≤ 15 ms, ANN ≤ 2 ms, rerank ≤ 2 ms; (issue 18) lexical ≤ 10 ms.
//
// The 100k: every real chunk vector (with its text) of the candidate table written by
// bench/eval-faq.ts, plus clustered synthetic vectors around them (each a real chunk vector plus
// Gaussian noise, renormalised, carrying that chunk's text) up to --n. Embedding 100k real chunks
// would take hours on this machine; the synthetic ones keep the real topic structure.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/query-latency.js [--n 100000] [--nlist L] [--db DIR | --pg URL]
//     [--table T]            the candidate table (default: the one document_chunks_v450_o10_j80_a* table there)
//     [--only lexical]       the lexical stage alone (same 100k rows; skips FAISS, the model and the reranker)
//     [--sql-questions 40]   questions the SQL oracle and ts_rank_cd are timed on
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../src/data/dataset';
import { openDb } from '../src/platform/db';
import { Embedder } from '../src/rag/embed';
import { defaultNlist, FaissIndex } from '../src/rag/faiss-index';
import { percentile } from '../src/rag/metrics';
import { runNprobeSweep } from '../src/rag/nprobe-sweep';
import { LearnedReranker, trainLogisticReranker } from '../src/rag/rerank';
import { snapshotFeatures, type FeatureCandidate } from '../src/rag/rerank-features';
import { RerankerService } from '../src/rag/rerank-service';
import { reciprocalRankFusion, selectPassages, type Candidate } from '../src/rag/retrieve';
import { readTableVectors } from '../src/rag/serving-index';
import { contentTerms, termPrefixMatcher } from '../src/rag/terms';
import { gaussianFrom, seededRandom as mulberry32 } from '../src/platform/seeded-random';
import type { Db } from '../src/platform/db';
import { describeLexicalLatency, lexicalLatency, type LexicalLatency } from './lexical-latency';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
function findRepoRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'bench', 'query-latency.ts'))) return d;
  }
  return process.cwd();
}
const stateDir = process.env.BAKEOFF_HOME ?? path.join(findRepoRoot(), '.bakeoff');
const N = Number(arg('n', '100000'));
const ONLY = arg('only');
const SQL_QUESTIONS = Number(arg('sql-questions', '40'));
const SNAPSHOT = 50;
const SPREAD = Number(arg('spread', '0.6'));

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
/** Process CPU time since c0: what the step itself cost, whatever else the shared cores were doing. */
const cpuMs = (c0: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(c0);
  return (u.user + u.system) / 1000;
};
const summary = (xs: number[]) => ({ p50: percentile(xs, 0.5), p95: percentile(xs, 0.95), mean: xs.reduce((s, x) => s + x, 0) / xs.length });
const f = (x: number) => x.toFixed(3);

async function main(): Promise<void> {
  if (ONLY !== undefined && ONLY !== 'lexical') throw new Error(`--only: the only stage that runs alone is "lexical", got ${JSON.stringify(ONLY)}`);
  if (!Number.isInteger(SQL_QUESTIONS) || SQL_QUESTIONS < 1) throw new Error(`--sql-questions must be a positive integer, got ${arg('sql-questions')}`);
  const t0 = process.hrtime.bigint();
  // 1. Real chunk vectors and texts from the candidate table of the full FAQ ingest.
  const dbDir = arg('db', path.join(stateDir, 'eval-faq', 'pglite'))!;
  const pg = arg('pg');
  if (!pg && !fs.existsSync(dbDir)) throw new Error(`no ingested FAQ table at ${dbDir}: run bench/eval-faq.ts first (or pass --db / --pg)`);
  const db = await openDb(pg ? { url: pg } : { dataDir: dbDir });
  const TABLE = arg('table') ?? (await candidateTable(db));
  const real = await readTableVectors(db, TABLE);
  const texts = new Map((await db.query<{ chunk_id: string; bm25_text: string; doc_id: string }>(`SELECT chunk_id, bm25_text, doc_id FROM ${TABLE}`)).rows.map((r) => [r.chunk_id, r]));
  await db.close();
  const dim = real.dim;
  const nReal = real.ids.length;
  if (nReal === 0) throw new Error(`${TABLE} is empty`);

  // 2. Synthetic neighbours up to N: a real vector + noise of norm SPREAD, renormalised.
  const total = Math.max(N, nReal);
  const data = new Float32Array(total * dim);
  data.set(real.vectors);
  const ids: string[] = [...real.ids];
  const family: number[] = real.ids.map((_, i) => i);
  const uniform = mulberry32(7);
  const gauss = gaussianFrom(uniform);
  const scale = SPREAD / Math.sqrt(dim);
  for (let i = nReal; i < total; i++) {
    const src = Math.floor(uniform() * nReal);
    let sq = 0;
    for (let j = 0; j < dim; j++) {
      const x = real.vectors[src * dim + j] + scale * gauss();
      data[i * dim + j] = x;
      sq += x * x;
    }
    const inv = 1 / Math.sqrt(sq);
    for (let j = 0; j < dim; j++) data[i * dim + j] *= inv;
    ids.push(`synthetic-${i}`);
    family.push(src);
  }
  const tData = ms(t0);
  const dataset = await loadDataset();
  const questions = dataset.cases.map((c) => c.question);
  const machine = () => `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;
  // 7 (here or after the others). Lexical leg over the same rows' texts (a synthetic row carries its family's real text).
  const lexicalStage = async (): Promise<LexicalLatency> => {
    const lexDb = await openDb({});
    const lexRows = function* () {
      for (let i = 0; i < total; i++) {
        const row = texts.get(real.ids[family[i]])!;
        yield { chunk_id: ids[i], doc_id: row.doc_id, bm25_text: row.bm25_text };
      }
    };
    const result = await lexicalLatency(lexDb, 'document_chunks_latency_lexical', lexRows(), questions, { sqlQuestions: SQL_QUESTIONS });
    await lexDb.close();
    return result;
  };
  if (ONLY === 'lexical') {
    const machineBefore = machine();
    const lexical = await lexicalStage();
    const out = { date: new Date().toISOString(), machine_before: machineBefore, machine_after: machine(), table: TABLE, chunks: total, real_chunks: nReal, synthetic_chunks: total - nReal, queries: questions.length, lexical, targets: { lexical_p95_ms: 10 } };
    const json = arg('json');
    if (json) fs.writeFileSync(json, JSON.stringify(out, null, 2) + '\n');
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    process.stderr.write(`query latency, lexical stage alone, at ${total} chunks (${nReal} real + ${total - nReal} synthetic):\n  ${describeLexicalLatency(lexical)}`);
    return;
  }

  // 3. Indexes: flat truth and IVF (nlist = defaultNlist(n), trained on a 39·nlist sample).
  const tb = process.hrtime.bigint();
  const flat = FaissIndex.build(data, ids, { kind: 'flat' });
  const nlist = arg('nlist') ? Number(arg('nlist')) : defaultNlist(total);
  const ivf = FaissIndex.build(data, ids, { kind: 'ivf', nlist, trainSampleSize: Math.min(total, 39 * nlist) });
  const tBuild = ms(tb);

  // 4. Real questions, encoded by the real model (timed one by one: a query arrives alone).
  const embedder = await Embedder.load();
  for (const q of questions.slice(0, 20)) await embedder.embedOne(q); // warm-up
  const encodeMs: number[] = [];
  const encodeCpuMs: number[] = [];
  const qv: Float32Array[] = [];
  for (const q of questions) {
    const c0 = process.cpuUsage();
    const t = process.hrtime.bigint();
    qv.push(await embedder.embedOne(q));
    encodeMs.push(ms(t));
    encodeCpuMs.push(cpuMs(c0));
  }
  const queries = new Float32Array(qv.length * dim);
  qv.forEach((v, i) => queries.set(v, i * dim));

  // 5. nprobe: smallest with overlap@10 ≥ 0.95 on these questions; that setting is what ANN is timed at.
  const sweep = runNprobeSweep(flat, ivf, queries, { nprobes: [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128].filter((p) => p <= nlist), k: 10, minOverlap: 0.95, warmupQueries: 20 });
  const nprobe = sweep.chosen?.nprobe ?? Math.min(128, nlist);
  ivf.setNprobe(nprobe);
  const annMs: number[] = [];
  const annCpuMs: number[] = [];
  const flatMs: number[] = [];
  const snapshots: FeatureCandidate[][] = [];
  for (let q = 0; q < qv.length; q++) {
    const c0 = process.cpuUsage();
    let t = process.hrtime.bigint();
    const [hits] = ivf.search([qv[q]], SNAPSHOT);
    annMs.push(ms(t));
    annCpuMs.push(cpuMs(c0));
    t = process.hrtime.bigint();
    flat.searchLabels([qv[q]], SNAPSHOT);
    flatMs.push(ms(t));
    // A snapshot as retrieval builds it: dense ranks from the ANN, lexical ranks from a term-overlap
    // ordering of the same candidates (a stand-in for BM25 over 100k synthetic rows), RRF fused.
    const overlap = termPrefixMatcher(contentTerms(questions[q]));
    const rows = hits.map((h) => ({ h, row: texts.get(real.ids[family[h.label]])! }));
    const lexical = rows.map((r) => ({ id: r.h.chunkId, s: overlap(r.row.bm25_text) })).filter((x) => x.s > 0).sort((a, b) => b.s - a.s).map((x) => x.id);
    const fused = reciprocalRankFusion([lexical, hits.map((h) => h.chunkId)], 60);
    const byId = new Map(rows.map((r) => [r.h.chunkId, r]));
    snapshots.push(
      fused.map((fz, i) => {
        const r = byId.get(fz.id)!;
        const li = lexical.indexOf(fz.id);
        return {
          chunk_id: fz.id, doc_id: r.row.doc_id, chunk_index: 0, text: r.row.bm25_text,
          embedding: data.subarray(r.h.label * dim, (r.h.label + 1) * dim), cosine: r.h.score,
          bm25Rank: li >= 0 ? li + 1 : null, bm25Score: li >= 0 ? 1 / (li + 1) : null,
          vectorRank: hits.findIndex((h) => h.chunkId === fz.id) + 1, rrfScore: fz.score, fusedRank: i + 1,
        } as FeatureCandidate;
      }),
    );
  }

  // 6. Rerank: the learned model from the FAQ ingest when there is one, else one fitted here on
  //    proxy labels (same family as the exact nearest neighbour); the cost does not depend on the weights.
  const modelFile = findRerankerModel(path.join(stateDir, 'eval-faq', 'indexes', TABLE));
  let model: LearnedReranker;
  if (modelFile) model = LearnedReranker.load(modelFile);
  else {
    const examples = snapshots.slice(0, 200).map((s, i) => {
      const top = family[flat.searchLabels([qv[i]], 1).labels[0][0]];
      return { case_id: `q${i}`, split: 'train' as const, features: snapshotFeatures(questions[i], s), labels: s.map((c) => (texts.get(real.ids[top])?.doc_id === c.doc_id ? 1 : 0)) };
    });
    model = new LearnedReranker(trainLogisticReranker(examples));
  }
  const service = new RerankerService(model, { cacheSize: 0, rateLimit: null });
  for (let i = 0; i < 20; i++) await service.rerank(questions[i], snapshots[i]);
  const rerankMs: number[] = [];
  const rerankCpuMs: number[] = [];
  for (let q = 0; q < snapshots.length; q++) {
    const c0 = process.cpuUsage();
    const t = process.hrtime.bigint();
    const scores = await service.rerank(questions[q], snapshots[q]);
    const ordered = snapshots[q].map((c, i) => ({ ...c, rerankScore: scores[i] }) as unknown as Candidate).sort((a, b) => (b.rerankScore ?? 0) - (a.rerankScore ?? 0));
    selectPassages(ordered, { passK: 10, perDocCap: 2, minRerankScore: 0 }, true);
    rerankMs.push(ms(t));
    rerankCpuMs.push(cpuMs(c0));
  }
  await service.close();

  const lexical = await lexicalStage();

  const enc = summary(encodeMs);
  const ann = summary(annMs);
  const fl = summary(flatMs);
  const rr = summary(rerankMs);
  const point = sweep.points.find((p) => p.nprobe === nprobe);
  const out = {
    date: new Date().toISOString(),
    machine: machine(),
    table: TABLE,
    chunks: total,
    real_chunks: nReal,
    synthetic_chunks: total - nReal,
    synthetic_spread: SPREAD,
    queries: questions.length,
    dim,
    nlist,
    nprobe,
    overlap_at_10: point?.overlapAtK ?? null,
    build_s: tBuild / 1000,
    data_s: tData / 1000,
    reranker: model.id,
    reranker_source: modelFile ?? 'fitted on proxy labels in this run',
    encode_ms: enc,
    /** Summed over onnxruntime's threads: the compute one query costs, not its wall time. */
    encode_cpu_ms: summary(encodeCpuMs),
    ann_ms: ann,
    ann_cpu_ms: summary(annCpuMs),
    flat_ms: fl,
    rerank_ms: rr,
    rerank_cpu_ms: summary(rerankCpuMs),
    lexical,
    targets: { encode_p95_ms: 15, ann_p95_ms: 2, rerank_p95_ms: 2, lexical_p95_ms: 10 },
    sweep: sweep.points.map((p) => ({ nprobe: p.nprobe, overlap_at_10: p.overlapAtK, p50_ms: p.p50Ms, p95_ms: p.p95Ms, speedup_p95: p.speedupP95 })),
  };
  const json = arg('json');
  if (json) fs.writeFileSync(json, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  process.stderr.write(
    `query latency at ${total} chunks (${nReal} real + ${total - nReal} synthetic), ${questions.length} real questions:\n` +
      `  encode  p50 ${f(enc.p50)} ms  p95 ${f(enc.p95)} ms  (CPU p50 ${f(summary(encodeCpuMs).p50)} p95 ${f(summary(encodeCpuMs).p95)} ms over all threads; target p95 ≤ 15)\n` +
      `  ANN     p50 ${f(ann.p50)} ms  p95 ${f(ann.p95)} ms  (IVF${nlist}, nprobe ${nprobe}, overlap@10 ${point ? f(point.overlapAtK) : '?'}; flat p95 ${f(fl.p95)} ms; CPU p95 ${f(summary(annCpuMs).p95)} ms; target p95 ≤ 2)\n` +
      `  rerank  p50 ${f(rr.p50)} ms  p95 ${f(rr.p95)} ms  (${SNAPSHOT} candidates; CPU p95 ${f(summary(rerankCpuMs).p95)} ms; target p95 ≤ 2)\n` +
      `  ${describeLexicalLatency(lexical)}`,
  );
}

/** The seeds' candidate table of the eval-faq ingest (its name ends in the config hash, which moves with the config). */
async function candidateTable(db: Db): Promise<string> {
  const r = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'document\\_chunks\\_v450\\_o10\\_j80\\_a%' ORDER BY table_name`,
  );
  if (r.rows.length !== 1) throw new Error(`--table: expected one document_chunks_v450_o10_j80_a* table, found ${r.rows.length} (${r.rows.map((x) => x.table_name).join(', ') || 'none'}): name it`);
  return r.rows[0].table_name;
}

function findRerankerModel(dir: string): string | null {
  if (!fs.existsSync(dir)) return null;
  for (const run of fs.readdirSync(dir)) {
    const file = path.join(dir, run, 'reranker-faiss-ivf.json');
    if (fs.existsSync(file)) return file;
  }
  return null;
}

main().catch((err) => {
  process.stderr.write(`query-latency failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
