// Hybrid retrieval (RRF of the lexical leg and FAISS IVF, then the learned reranker) on the FAQ dev
// split with the lexical leg scored by ts_rank_cd (before issue 18) and by the shipped Okapi BM25
// (after), over ONE ingested chunk table. The chunks, their embeddings and the IVF index do not depend
// on the lexical ranker, so one ingest serves both sides; only the table's recorded ranker is switched
// (LexicalIndex.setRanker) and restored afterwards. The reranker's features include the lexical ranks
// and scores, so each ranker gets its own reranker, fitted on the train split's retrievals with that
// ranker (trainTableReranker, as the data plane does). Query vectors are computed once and shared by
// both sides (the dense leg is the same); the reader runs without sentence embeddings, so its scores
// are not reported — only retrieval metrics. Both sides are compared case by case (compareSides:
// paired bootstrap + sign test).
import * as os from 'node:os';
import type { Dataset, CorpusDoc } from '../src/data/dataset';
import type { Db } from '../src/platform/db';
import type { ChunkStore } from '../src/rag/chunk-store';
import { compareSides, evaluateSide, type CaseResult, type MetricComparison, type PerCaseMetric } from '../src/rag/evaluate';
import type { FaissIndex } from '../src/rag/faiss-index';
import { DEFAULT_BM25_B, DEFAULT_BM25_K1, type LexicalRanker } from '../src/rag/lexical-ranker';
import { LearnedReranker, type RerankerLift } from '../src/rag/rerank';
import { RerankerService } from '../src/rag/rerank-service';
import { trainTableReranker } from '../src/rag/rerank-training';
import { faissSearcher, HybridRetriever, type QueryEncoder } from '../src/rag/retrieve';

export interface HybridSide {
  label: string;
  ranker: LexicalRanker;
  reranked: CaseResult[];
  fused: CaseResult[];
  lift: RerankerLift;
  rerankerId: string;
  seconds: number;
}

export interface HybridComparison {
  table: string;
  chunks: number;
  ingestRunId: string;
  before: HybridSide;
  after: HybridSide;
  reranked: MetricComparison[];
  fused: MetricComparison[];
  machine: string;
  loadBefore: string;
  loadAfter: string;
  startedAt: string;
  seconds: number;
  trainCases: number;
}

const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' / ');

/** Query vectors computed once: both sides ask the same questions of the same dense index. */
function memoEncoder(encoder: QueryEncoder): QueryEncoder {
  const seen = new Map<string, Promise<Float32Array>>();
  return {
    embedOne(text) {
      let v = seen.get(text);
      if (!v) seen.set(text, (v = encoder.embedOne(text)));
      return v;
    },
  };
}

export async function compareLexicalRankersHybrid(o: {
  db: Db;
  store: ChunkStore;
  ivf: FaissIndex;
  ingestRunId: string;
  encoder: QueryEncoder;
  embedderId: string;
  dataset: Dataset;
  k: number;
  seed: number;
  manifestDir: string;
  log: (line: string) => void;
}): Promise<HybridComparison> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const loadBefore = load();
  const encoder = memoEncoder(o.encoder);
  const labelled = o.dataset.cases.filter((c) => c.split === 'train' || c.split === 'dev');
  const dev = o.dataset.cases.filter((c) => c.split === 'dev');
  const docs = new Map<string, CorpusDoc>(o.dataset.docs.map((d) => [d.doc_id, d]));
  const recorded = await o.store.lexical.ranker();
  const sides: HybridSide[] = [];
  try {
    for (const [label, ranker] of [
      ['ts_rank_cd (before)', { kind: 'ts_rank_cd' }],
      [`BM25 k1 ${DEFAULT_BM25_K1} b ${DEFAULT_BM25_B} (after)`, { kind: 'bm25', k1: DEFAULT_BM25_K1, b: DEFAULT_BM25_B }],
    ] as [string, LexicalRanker][]) {
      const ts = Date.now();
      await o.store.lexical.setRanker(ranker, o.ingestRunId);
      const plain = new HybridRetriever({ store: o.store, encoder, vector: faissSearcher(o.ivf) });
      o.log(`${label}: training the reranker on ${labelled.filter((c) => c.split === 'train').length} train cases`);
      const trained = await trainTableReranker(plain, labelled, {
        source: `${o.store.table}@${o.ingestRunId}/${ranker.kind}`,
        onCase: (done, total) => (done % 100 === 0 ? o.log(`${label}: training retrievals ${done}/${total}`) : undefined),
      });
      const reranker = new RerankerService(new LearnedReranker(trained.model), { rateLimit: null });
      const run = async (retriever: HybridRetriever, tag: string) =>
        (
          await evaluateSide({
            side: ranker.kind === 'bm25' ? 'candidate' : 'baseline',
            table: o.store.table,
            db: o.db,
            retriever,
            encoder: null,
            cases: dev,
            docs,
            k: o.k,
            seed: o.seed,
            runLabel: `eval-faq-hybrid/${ranker.kind}/${tag}`,
            caseSet: 'faq:dev',
            datasetManifest: o.dataset.manifest,
            embedderId: o.embedderId,
            manifestDir: o.manifestDir,
          })
        ).cases;
      const reranked = await run(plain.withReranker(reranker), 'reranked');
      const fused = await run(plain, 'fused');
      await reranker.close();
      sides.push({ label, ranker, reranked, fused, lift: trained.lift, rerankerId: reranker.id, seconds: Math.round((Date.now() - ts) / 1000) });
      o.log(`${label}: done in ${sides.at(-1)!.seconds} s`);
    }
  } finally {
    await o.store.lexical.setRanker(recorded.ranker, o.ingestRunId); // the table is searched as its ingest decided again
  }
  const [before, after] = sides;
  return {
    table: o.store.table,
    chunks: await o.store.count(),
    ingestRunId: o.ingestRunId,
    before,
    after,
    reranked: compareSides(before.reranked, after.reranked, o.seed),
    fused: compareSides(before.fused, after.fused, o.seed),
    machine: `${os.cpus().length}× ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    loadBefore,
    loadAfter: load(),
    startedAt,
    seconds: Math.round((Date.now() - t0) / 1000),
    trainCases: labelled.filter((c) => c.split === 'train').length,
  };
}

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const signed = (x: number) => `${x >= 0 ? '+' : ''}${fmt(x)}`;
const RETRIEVAL_METRICS: [PerCaseMetric, string][] = [
  ['hit', 'hit@10'],
  ['reciprocal_rank', 'MRR@10'],
  ['ndcg', 'nDCG@10'],
  ['recall', 'recall@10 (answer-bearing chunks)'],
  ['post_filter_hit', 'post-filter hit'],
];

function pairedTable(cmp: MetricComparison[]): string[] {
  return [
    '| metric | ts_rank_cd (before) | BM25 (after) | Δ | paired bootstrap 95 % CI | bootstrap p | wins / losses / ties | sign-test p |',
    '|---|---|---|---|---|---|---|---|',
    ...RETRIEVAL_METRICS.map(([m, name]) => {
      const c = cmp.find((x) => x.metric === m)!;
      return `| ${name} | ${fmt(c.baseline)} | ${fmt(c.candidate)} | ${signed(c.diff)} | [${signed(c.bootstrap.ci95[0])}, ${signed(c.bootstrap.ci95[1])}] | ${fmt(c.bootstrap.pValue, 4)} | ${c.sign.wins} / ${c.sign.losses} / ${c.sign.ties} | ${fmt(c.sign.pValue, 4)} |`;
    }),
  ];
}

/** The section of docs/evaluation.md (between the hybrid-lexical markers). */
export function renderHybridSection(r: HybridComparison, command: string): string {
  const resamples = r.reranked[0].bootstrap.resamples;
  const seed = r.reranked[0].bootstrap.seed;
  return [
    '## Hybrid retrieval before / after BM25 (issue 18, `bench/eval-faq.ts --hybrid`)',
    '',
    `\`${command}\` — ${r.machine}; run ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.seconds} s`,
    `(evaluation part; the ingest, if any, before it), load average ${r.loadBefore} at the start and ${r.loadAfter} at the end`,
    '(quality figures do not depend on load).',
    '',
    `One real ingest of the seeds' candidate (\`${r.ingestRunId}\`, ${r.chunks} chunks, MiniLM embeddings, FAISS IVF) serves`,
    'both sides: chunks, vectors and the dense index do not depend on the lexical ranker, so only the table\'s recorded',
    'ranker is switched (ts_rank_cd = what shipped before; Okapi BM25 = what new configs get). Each side trains its own',
    `learned reranker on its own retrievals of the ${r.trainCases} train questions (the reranker\'s features include the`,
    'lexical ranks and scores), then both are evaluated on the same 143 **dev** questions (document-level hit@10,',
    'MRR@10, nDCG@10 as in "Metrics" above; bm25K 50, vectorK 50, snapshot 50, RRF k 60). The reader ran without sentence',
    `embeddings here, so reader scores are not reported. Paired comparison per dev question: bootstrap (${resamples}`,
    `resamples, seed ${seed}; 95 % percentile interval of the mean difference, two-sided p) and exact sign test.`,
    '',
    '**With the learned reranker** (what serving hands on):',
    '',
    ...pairedTable(r.reranked),
    '',
    '**Fused order, no reranker** (RRF of the two legs only):',
    '',
    ...pairedTable(r.fused),
    '',
    'Reranker fitted per ranker — its lift on the dev snapshots (chunk-level relevance: the chunk comes from the gold document):',
    '',
    '| lexical leg | reranker | MRR@10 fused → reranked | nDCG@10 fused → reranked | hit@1 fused → reranked | side time |',
    '|---|---|---|---|---|---|',
    ...[r.before, r.after].map(
      (s) =>
        `| ${s.label} | \`${s.rerankerId}\` | ${fmt(s.lift.fused.mrr_at_10)} → ${fmt(s.lift.reranked.mrr_at_10)} | ${fmt(s.lift.fused.ndcg_at_10)} → ${fmt(s.lift.reranked.ndcg_at_10)} | ${fmt(s.lift.fused.hit_at_1)} → ${fmt(s.lift.reranked.hit_at_1)} | ${s.seconds} s |`,
    ),
    '',
  ].join('\n');
}
