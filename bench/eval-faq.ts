// Full FAQ evaluation: ingests the WHOLE FAQ corpus under the seeds' candidate (450 tokens, 10 %
// overlap, near-dup removal at J ≥ 0.8, prefix policy A) and the baseline (512 tokens, no overlap,
// no near-dup removal, no prefix) through the data-plane activities, evaluates both on the dev split,
// compares them case by case (paired bootstrap + sign test), probes the candidate, and writes
// docs/evaluation.md. Resumable: the PGlite database and indexes persist under .bakeoff/eval-faq.
//
// Build + run:  npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/eval-faq.js
//   [--subset N]   a quick run on subsetForTests(N) (writes nothing to docs/)
//   [--pg URL]     use a PostgreSQL server instead of the embedded PGlite
//   [--fresh]      re-ingest even when a finished ingest of the same corpus and its index exist
//   [--hybrid]     issue 18's before/after instead: the candidate ingested once, its hybrid retrieval (with
//                  a reranker trained per ranker) evaluated with ts_rank_cd and with BM25 as the lexical leg
//                  (bench/lexical-hybrid.ts); writes the hybrid-lexical section of docs/evaluation.md
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataPlane } from '../src/activities/data-plane';
import type { EvalReport, ProbeResult } from '../src/activities/types';
import { loadDataset, subsetForTests, type Dataset } from '../src/data/dataset';
import { openDb } from '../src/platform/db';
import { defaultBaseline, defaultCandidate, lockConfig, type LockedConfig } from '../src/rag/config';
import { Embedder } from '../src/rag/embed';
import { compareSides, type CaseResult, type MetricComparison, type RunManifest } from '../src/rag/evaluate';
import { createProgressPrinter } from '../src/rag/progress';
import type { RerankerLift } from '../src/rag/rerank';
import { corpusFingerprint, type IngestReport as RagIngestReport } from '../src/rag/ingest';
import { readIndexPointer } from '../src/rag/serving-index';
import { ChunkStore } from '../src/rag/chunk-store';
import { compareLexicalRankersHybrid, renderHybridSection } from './lexical-hybrid';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The checkout this script belongs to (the compiled copy runs from .bakeoff/bench-build). */
function findRepoRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'bench', 'eval-faq.ts'))) return d;
  }
  return process.cwd();
}
const repoRoot = findRepoRoot();
const stateDir = process.env.BAKEOFF_HOME ?? path.join(repoRoot, '.bakeoff');

const SUBSET = arg('subset') ? Number(arg('subset')) : null;
const PG_URL = arg('pg');
const FRESH = process.argv.includes('--fresh');
const HYBRID = process.argv.includes('--hybrid');
const K = 10;
const SEED = 3;

interface SideRun {
  name: 'candidate' | 'baseline';
  reused: boolean;
  locked: LockedConfig;
  ingest: RagIngestReport;
  report: EvalReport;
  manifest: RunManifest;
  cases: CaseResult[];
  lift: RerankerLift | null;
  nprobe: { nlist: number; nprobe: number; overlap: number | null };
  probes: ProbeResult[];
}

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

async function main(): Promise<void> {
  const workDir = path.join(stateDir, SUBSET ? `eval-faq-subset-${SUBSET}` : 'eval-faq');
  fs.mkdirSync(workDir, { recursive: true });
  const t0 = Date.now();
  const dataset: Dataset = SUBSET ? await subsetForTests(SUBSET) : await loadDataset();
  const embedder = await Embedder.load();
  const db = await openDb(PG_URL ? { url: PG_URL } : { dataDir: path.join(workDir, 'pglite') });
  const printer = { current: createProgressPrinter({ label: 'ingest' }) };
  const plane = new DataPlane({
    db,
    dataset,
    loadEmbedder: async () => embedder,
    indexDir: path.join(workDir, 'indexes'),
    manifestDir: path.join(workDir, 'manifests'),
    seed: SEED,
    log: (line) => process.stderr.write(`[eval-faq] ${line}\n`),
    onIngestProgress: (p) => printer.current.update(p),
  });
  const id = { embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash };
  const configs = {
    candidate: lockConfig(defaultCandidate(id), new Date('2026-11-22T00:00:00Z')),
    baseline: lockConfig(defaultBaseline(id), new Date('2026-11-22T00:00:00Z')),
  };
  process.stderr.write(`[eval-faq] ${dataset.docs.length} documents, ${dataset.cases.length} cases (${dataset.cases.filter((c) => c.split === 'dev').length} dev)\n`);

  /** A finished ingest of this very corpus with its index is reused (a re-ingest would re-embed everything). */
  async function ingestOrReuse(name: 'candidate' | 'baseline'): Promise<{ ivfDir: string; reused: boolean }> {
    const locked = configs[name];
    const done = await db
      .query<{ report: RagIngestReport; corpus_fingerprint: string }>(`SELECT report, corpus_fingerprint FROM ingest_runs WHERE ingest_run_id = $1 AND status = 'done'`, [locked.ingest_run_id])
      .catch(() => ({ rows: [] as { report: RagIngestReport; corpus_fingerprint: string }[] }));
    const recorded = readIndexPointer(plane.indexDir, locked.shadow_table);
    if (!FRESH && done.rows[0]?.corpus_fingerprint === corpusFingerprint(dataset.docs) && recorded?.ingest_run_id === locked.ingest_run_id) {
      process.stderr.write(`[eval-faq] reusing the finished ingest ${locked.ingest_run_id} and its index (--fresh to redo)\n`);
      return { ivfDir: recorded.ivf, reused: true };
    }
    printer.current = createProgressPrinter({ label: `ingest ${name}` });
    const ingestOut = await plane.shadowIngest({ locked, table: locked.shadow_table, dryRun: false });
    printer.current.done();
    return { ivfDir: ingestOut.index!.ivf, reused: false };
  }

  if (HYBRID) {
    const locked = configs.candidate;
    const { ivfDir } = await ingestOrReuse('candidate');
    const result = await compareLexicalRankersHybrid({
      db,
      store: new ChunkStore(db, locked.shadow_table, embedder.dims),
      ivf: plane.loadIndex(ivfDir),
      ingestRunId: locked.ingest_run_id,
      encoder: embedder,
      embedderId: embedder.modelId,
      dataset,
      k: K,
      seed: SEED,
      manifestDir: path.join(workDir, 'hybrid-manifests'),
      log: (line) => process.stderr.write(`[eval-faq] ${line}\n`),
    });
    await plane.close();
    await db.close();
    const command = `nice -n 10 node .bakeoff/bench-build/bench/eval-faq.js --hybrid${SUBSET ? ` --subset ${SUBSET}` : ''}${PG_URL ? ' --pg URL' : ''}`;
    const section = renderHybridSection(result, command);
    // Per-case results are in the manifests' cases.jsonl; the summary keeps the comparisons and lifts.
    const summary = (side: typeof result.before) => ({ label: side.label, ranker: side.ranker, rerankerId: side.rerankerId, lift: side.lift, seconds: side.seconds });
    fs.writeFileSync(path.join(workDir, 'hybrid-comparison.json'), JSON.stringify({ ...result, before: summary(result.before), after: summary(result.after) }, null, 2) + '\n');
    process.stdout.write(section);
    if (!SUBSET) {
      const out = path.join(repoRoot, 'docs', 'evaluation.md');
      fs.writeFileSync(out, replaceMarked(fs.readFileSync(out, 'utf8'), 'hybrid-lexical', section));
      process.stderr.write(`[eval-faq] wrote the hybrid-lexical section of ${out}\n`);
    }
    return;
  }

  const runs: SideRun[] = [];
  for (const name of ['candidate', 'baseline'] as const) {
    const locked = configs[name];
    const { ivfDir, reused } = await ingestOrReuse(name);
    const row = await db.query<{ report: RagIngestReport }>(`SELECT report FROM ingest_runs WHERE ingest_run_id = $1`, [locked.ingest_run_id]);
    const report = await plane.evaluate({ side: name, table: locked.shadow_table, index: ivfDir, caseSetRef: 'faq:dev', k: K, runLabel: `eval-faq/${name}` });
    const manifest = JSON.parse(fs.readFileSync(report.manifest!, 'utf8')) as RunManifest;
    const cases = fs.readFileSync(path.join(path.dirname(report.manifest!), manifest.per_case_file!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CaseResult);
    const runDir = path.dirname(ivfDir);
    const liftFile = path.join(runDir, 'reranker-faiss-ivf.lift.json');
    const pointer = JSON.parse(fs.readFileSync(path.join(path.dirname(runDir), 'current.json'), 'utf8')) as { nlist: number; nprobe: number; overlap_at_10: number | null };
    const probes = await plane.runProbes({ locked, table: locked.shadow_table, index: ivfDir });
    runs.push({
      name,
      reused,
      locked,
      ingest: row.rows[0].report,
      report,
      manifest,
      cases,
      lift: fs.existsSync(liftFile) ? (JSON.parse(fs.readFileSync(liftFile, 'utf8')) as RerankerLift) : null,
      nprobe: { nlist: pointer.nlist, nprobe: pointer.nprobe, overlap: pointer.overlap_at_10 },
      probes,
    });
    process.stderr.write(`[eval-faq] ${name}: ${JSON.stringify(report.metrics)}\n`);
  }
  await plane.close();
  await db.close();
  const [cand, base] = runs;
  const comparison = compareSides(base.cases, cand.cases, SEED);
  const md = renderMarkdown(dataset, cand, base, comparison, Math.round((Date.now() - t0) / 1000));
  const out = SUBSET ? path.join(workDir, 'evaluation.md') : path.join(repoRoot, 'docs', 'evaluation.md');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  // Sections other benches maintain (between <!-- NAME:begin --> / <!-- NAME:end -->) survive a regeneration.
  fs.writeFileSync(out, fs.existsSync(out) ? md + markedBlocks(fs.readFileSync(out, 'utf8')).join('\n') : md);
  fs.writeFileSync(path.join(workDir, 'comparison.json'), JSON.stringify({ comparison, candidate: cand.report, baseline: base.report }, null, 2) + '\n');
  process.stdout.write(md);
  process.stderr.write(`[eval-faq] wrote ${out}\n`);
}

const MARKED = /<!-- ([a-z-]+):begin -->[\s\S]*?<!-- \1:end -->\n?/g;

/** The marked sections of a document, in order. */
function markedBlocks(text: string): string[] {
  return [...text.matchAll(MARKED)].map((m) => m[0]);
}

/** `text` with the section between NAME's markers replaced (appended with its markers when absent). */
function replaceMarked(text: string, name: string, body: string): string {
  const block = `<!-- ${name}:begin -->\n${body.trimEnd()}\n<!-- ${name}:end -->\n`;
  const re = new RegExp(`<!-- ${name}:begin -->[\\s\\S]*?<!-- ${name}:end -->\\n?`);
  return re.test(text) ? text.replace(re, () => block) : `${text.trimEnd()}\n\n${block}`;
}

/** One sentence on what the comparison shows, computed from it (so it cannot drift from the table). */
function verdictLine(cmp: MetricComparison[]): string {
  const significant = cmp.filter((c) => c.bootstrap.pValue < 0.05);
  const better = cmp.filter((c) => c.diff > 0).map((c) => c.metric);
  const worse = cmp.filter((c) => c.diff < 0).map((c) => c.metric);
  const sig = significant.length
    ? `Significant at p < 0.05 (paired bootstrap): ${significant.map((c) => `${c.metric} (${c.diff > 0 ? '+' : ''}${fmt(c.diff)})`).join(', ')}.`
    : 'No difference is significant at p < 0.05 (paired bootstrap): on this corpus the two configurations cannot be told apart with confidence.';
  return `Candidate higher on: ${better.join(', ') || 'none'}; lower on: ${worse.join(', ') || 'none'}. ${sig}`;
}

function renderMarkdown(dataset: Dataset, cand: SideRun, base: SideRun, cmp: MetricComparison[], seconds: number): string {
  const m = dataset.manifest;
  const row = (label: string, b: number, c: number, d = 3) => `| ${label} | ${fmt(b, d)} | ${fmt(c, d)} | ${fmt(c - b, d)} |`;
  const sig = (metric: string) => cmp.find((x) => x.metric === metric)!;
  const sigRow = (label: string, metric: string) => {
    const s = sig(metric);
    return `| ${label} | ${fmt(s.diff)} | [${fmt(s.bootstrap.ci95[0])}, ${fmt(s.bootstrap.ci95[1])}] | ${fmt(s.bootstrap.pValue, 4)} | ${s.sign.wins} / ${s.sign.losses} / ${s.sign.ties} | ${fmt(s.sign.pValue, 4)} |`;
  };
  const lat = (r: EvalReport, stage: keyof EvalReport['latencyMs']) => `${fmt(r.latencyMs[stage].p50, 1)} / ${fmt(r.latencyMs[stage].p95, 1)}`;
  const ing = (s: SideRun) => s.ingest;
  const lines = [
    '# Offline evaluation on the FAQ data',
    '',
    `Generated by \`bench/eval-faq.ts\` (this run: ${seconds} s on 2 shared cores, ingests ${cand.reused && base.reused ? 'reused from the first run' : 'included'}). FAQ-derived data: the Perl and Python FAQs`,
    'from Debian\'s `perl-doc` and `python3.11-doc` (question headings removed from the indexed text), with sections of',
    'the rest of those manuals as distractors. Both configurations are ingested from the full corpus with the real',
    `\`${cand.manifest.models.embedder}\` model and evaluated on the **dev split** (${cand.report.cases} cases, k = ${K}).`,
    'The learned reranker of each side is trained on that side\'s own **train split** retrievals only.',
    '',
    '## Configurations',
    '',
    '| | baseline | candidate |',
    '|---|---|---|',
    `| chunk_size / overlap | ${base.locked.chunk_size} / ${base.locked.overlap_ratio} | ${cand.locked.chunk_size} / ${cand.locked.overlap_ratio} |`,
    `| near-dup threshold (Jaccard) | ${base.locked.jaccard_threshold} (verbatim repeats only) | ${cand.locked.jaccard_threshold} |`,
    `| prefix policy | ${base.locked.prefix_policy} | ${cand.locked.prefix_policy} |`,
    `| ingest_run_id | \`${base.locked.ingest_run_id}\` | \`${cand.locked.ingest_run_id}\` |`,
    `| config_hash | \`${base.locked.config_hash.slice(0, 16)}…\` | \`${cand.locked.config_hash.slice(0, 16)}…\` |`,
    `| documents ingested / skipped | ${ing(base).docs_ingested} / ${Object.values(ing(base).skipped).reduce((s, x) => s + x, 0)} | ${ing(cand).docs_ingested} / ${Object.values(ing(cand).skipped).reduce((s, x) => s + x, 0)} |`,
    `| chunks (before dedup) | ${ing(base).chunks} (${ing(base).chunks_before_dedup}) | ${ing(cand).chunks} (${ing(cand).chunks_before_dedup}) |`,
    `| dedup rate | ${fmt(ing(base).dedup_rate * 100, 2)} % | ${fmt(ing(cand).dedup_rate * 100, 2)} % |`,
    `| ingest wall time (embedding share; depends on the shared machine's load at the time) | ${fmt(ing(base).duration_ms / 60000, 1)} min (${fmt((ing(base).embed_ms / ing(base).duration_ms) * 100, 0)} %) | ${fmt(ing(cand).duration_ms / 60000, 1)} min (${fmt((ing(cand).embed_ms / ing(cand).duration_ms) * 100, 0)} %) |`,
    `| max embedding tokens (over model limit) | ${ing(base).max_embedding_tokens} (${ing(base).over_model_limit}) | ${ing(cand).max_embedding_tokens} (${ing(cand).over_model_limit}) |`,
    `| IVF nlist / nprobe (overlap@10 on train questions) | ${base.nprobe.nlist} / ${base.nprobe.nprobe} (${fmt(base.nprobe.overlap ?? NaN)}) | ${cand.nprobe.nlist} / ${cand.nprobe.nprobe} (${fmt(cand.nprobe.overlap ?? NaN)}) |`,
    '',
    '## Metrics (dev split)',
    '',
    '| metric | baseline | candidate | Δ |',
    '|---|---|---|---|',
    row(`hit@${K} (oracle, before filtering)`, base.report.metrics.hit_rate, cand.report.metrics.hit_rate),
    row(`recall@${K} (answer-bearing chunks)`, base.report.metrics.recall, cand.report.metrics.recall),
    row(`MRR@${K}`, base.report.metrics.mrr, cand.report.metrics.mrr),
    row('nDCG@10', base.report.metrics.ndcg, cand.report.metrics.ndcg),
    row('hit@1', base.manifest.metrics.hit_at_1, cand.manifest.metrics.hit_at_1),
    row('post-filter hit (gold doc handed to the reader)', base.manifest.metrics.post_filter_hit, cand.manifest.metrics.post_filter_hit),
    row('reader token F1', base.report.metrics.f1, cand.report.metrics.f1),
    row('reader token precision', base.report.metrics.precision, cand.report.metrics.precision),
    row('reader_used_gold', base.manifest.metrics.reader_used_gold, cand.manifest.metrics.reader_used_gold),
    '',
    'Latency per query during this evaluation, p50 / p95 ms (encode = query embedding, search = BM25 in PGlite + FAISS IVF +',
    'row fetch, rerank = features + model + filtering). PGlite is PostgreSQL compiled to WASM, in process; serving-path',
    'latencies at 100k chunks are in docs/benchmarks.md.',
    '',
    '| stage | baseline | candidate |',
    '|---|---|---|',
    ...(['encode', 'search', 'rerank', 'total'] as const).map((s) => `| ${s} | ${lat(base.report, s)} | ${lat(cand.report, s)} |`),
    '',
    '## Reading',
    '',
    verdictLine(cmp),
    '',
    '## Paired significance (candidate − baseline, same dev cases)',
    '',
    `Paired bootstrap (${sig('hit').bootstrap.resamples} resamples, seed ${SEED}; 95 % percentile interval, two-sided p) and exact sign test.`,
    '',
    '| metric | Δ mean | bootstrap 95 % CI | bootstrap p | wins / losses / ties | sign-test p |',
    '|---|---|---|---|---|---|',
    sigRow(`hit@${K}`, 'hit'),
    sigRow(`MRR@${K}`, 'reciprocal_rank'),
    sigRow('nDCG@10', 'ndcg'),
    sigRow(`recall@${K}`, 'recall'),
    sigRow('post-filter hit', 'post_filter_hit'),
    sigRow('reader F1', 'f1'),
    sigRow('reader precision', 'precision'),
    '',
    '## Learned reranker: lift on dev',
    '',
    'Logistic regression over retrieval features (cosine, margin to rank 1, BM25/vector ranks, RRF score, same-document',
    'context, diversity, query-term overlap), fitted by IRLS on the train split; the lift compares the reranked order with',
    'the fused (RRF) order of the same dev snapshots (chunk-level relevance: the chunk comes from the gold document).',
    '',
    '| side | train cases | dev cases | MRR@10 fused → reranked | nDCG@10 fused → reranked | hit@1 fused → reranked |',
    '|---|---|---|---|---|---|',
    ...[base, cand].map((s) =>
      s.lift
        ? `| ${s.name} | ${dataset.cases.filter((c) => c.split === 'train').length} | ${s.lift.cases} | ${fmt(s.lift.fused.mrr_at_10)} → ${fmt(s.lift.reranked.mrr_at_10)} (${s.lift.lift.mrr_at_10 >= 0 ? '+' : ''}${fmt(s.lift.lift.mrr_at_10)}) | ${fmt(s.lift.fused.ndcg_at_10)} → ${fmt(s.lift.reranked.ndcg_at_10)} | ${fmt(s.lift.fused.hit_at_1)} → ${fmt(s.lift.reranked.hit_at_1)} |`
        : `| ${s.name} | – | – | no reranker | | |`,
    ),
    '',
    '## Probes (each side\'s own table and indexes)',
    '',
    '| probe | baseline value | verdict | candidate value | verdict | threshold |',
    '|---|---|---|---|---|---|',
    ...cand.probes.map((p, i) => {
      const b = base.probes[i];
      const th = p.upper !== undefined ? `${p.threshold}–${p.upper}` : `${p.direction === 'lower-is-better' ? '≤' : '≥'} ${p.threshold}`;
      return `| ${p.name} | ${fmt(b.value, 6)} | ${b.verdict} | ${fmt(p.value, 6)} | ${p.verdict} | ${th} |`;
    }),
    '',
    ...cand.probes.filter((p) => p.verdict !== 'pass').map((p) => `- candidate ${p.name} (${p.verdict}): ${p.detail}`),
    '',
    '## Dataset and run manifest',
    '',
    `- builder_version ${m.builder_version}; packages ${Object.entries(m.source_packages).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- corpus.jsonl sha256 \`${m.files['corpus.jsonl'].sha256}\` (${m.files['corpus.jsonl'].lines} documents)`,
    `- cases.jsonl sha256 \`${m.files['cases.jsonl'].sha256}\` (${m.files['cases.jsonl'].lines} cases; train ${m.counts.train}, dev ${m.counts.dev})`,
    `- inputs sha256 \`${m.inputs_sha256}\`; split rule: ${m.split_rule}`,
    `- embedder \`${cand.manifest.models.embedder}\`; rerankers \`${base.manifest.models.reranker}\` (baseline), \`${cand.manifest.models.reranker}\` (candidate); reader \`${cand.manifest.models.reader}\``,
    `- retrieval: ${Object.entries(cand.manifest.retrieval).map(([k, v]) => `${k} ${v}`).join(', ')}; thresholds ${JSON.stringify(cand.manifest.thresholds)}; seed ${SEED}`,
    `- dev case ids sha256 \`${cand.manifest.case_ids_sha256}\``,
    '',
    'Definitions: hit@k, MRR@k and nDCG@10 are document-level (the reranked chunk snapshot mapped to documents by first',
    'occurrence; one gold document per case). recall@k is chunk-level: the share of the gold document\'s answer-bearing chunks',
    '(byte span overlapping the gold answer) in the top k chunks. Post-filter hit: the gold document is among the passages',
    'handed on after the per-document cap. Reader scores are SQuAD token F1 / precision against the extractive gold answer.',
    '',
  ];
  return lines.join('\n');
}

main().catch((err) => {
  process.stderr.write(`[eval-faq] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
