// The data-plane activities (shadowIngest, evaluate, runProbes) over src/rag. Heavy resources — the
// embedding model, loaded FAISS indexes, trained rerankers, the dataset — are loaded once per worker
// and reused by every activity call. Long steps heartbeat; shadowIngest puts its cursor in the
// heartbeat and a retried attempt resumes from it.
import { ApplicationFailure } from '@temporalio/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { DatasetError, loadDataset, type CorpusDoc, type Dataset, type EvalCase } from '../data/dataset';
import { corpusSnapshotMismatch, registeredDatasetOf } from '../data/locked-corpus';
import { RegistryError } from '../data/registry';
import { parseCaseSetRef, CaseSetRefSchema } from '../data/registry-ref';
import { registeredCorpusBatches, registeredSnapshot, resolveRegisteredCaseSet, type IngestDoc } from '../data/registry-resolve';
import type { LabelledCase } from '../data/sources/cases';
import { SourceError } from '../data/sources/types';
import { evaluateJudged } from '../rag/evaluate-judged';
import { quoteIdent, type Db } from '../platform/db';
import { stateDir } from '../platform/paths';
import type { ArtifactStore } from '../store/artifacts';
import { ChunkStore } from '../rag/chunk-store';
import type { LockedConfig } from '../rag/config';
import { DEFAULT_EMBEDDER, Embedder } from '../rag/embed';
import { evaluateSide, tableFingerprints } from '../rag/evaluate';
import { evaluatePaired, faqSide, judgedSide, type PairedSide } from '../rag/evaluate-paired';
import { FaissIndex } from '../rag/faiss-index';
import { CorpusChangedError, shadowIngest as runShadowIngest, type IngestDocs, type IngestProgress, type IngestReport } from '../rag/ingest';
import type { Shard } from '../rag/ingest-shard';
import { probeDedupRate, probeFingerprints, probeIvfFlatOverlap, probeMaxEmbeddingTokens, probePrefixLeakage, probeSnapshotBreadth, probeUnitNorm } from '../rag/probes';
import { LearnedReranker } from '../rag/rerank';
import { RerankerService, type RerankerStats } from '../rag/rerank-service';
import { loadPublishedReranker, publishedRerankerFor, RerankerUnavailable } from '../rag/rerank-artifact';
import { trainTableReranker, type TrainingCase } from '../rag/rerank-training';
import { faissSearcher, HybridRetriever, pgvectorSearcher, type RetrievalOptionsInput, type RetrievalResult } from '../rag/retrieve';
import { buildTableIndexes, readIndexPointer, readPublishedIndexPointer, rerankerFile, type BuildReranker, type IndexPointer } from '../rag/serving-index';
import { assertNotServing, claimShadowTable, dropShadowTableClaim, refreshShadowTableClaim } from '../store/shadow-table-claim';
import { lockedOrFail, parseInput, TableName } from './activity-input';
import { activityContext, heartbeat } from './heartbeat';
import { lockCorpus } from './lock-corpus';
import type { DataPlaneActivities, EvalReport, EvaluateInput, EvaluatePairInput, ShadowIngestReport, ProbeInput, ProbeResult, ShadowIngestInput } from './types';

export const DEFAULT_SEED = 3;

const isInside = (file: string, dir: string): boolean => !path.relative(dir, file).startsWith('..') && !path.isAbsolute(path.relative(dir, file));

/** What the data plane needs from an embedding model (Embedder has it; tests may wrap one). */
export type EmbedderLike = Pick<Embedder, 'name' | 'modelId' | 'dims' | 'maxTokens' | 'tokenizerHash' | 'countTokens' | 'embeddingTokens' | 'embed' | 'embedOne'>;

export interface DataPlaneDeps {
  db: Db;
  /** Loads an embedding model by name; default Embedder.load(name) from the provisioned models. */
  loadEmbedder?: (name: string) => Promise<EmbedderLike>;
  /** A dataset already loaded (tests pass subsetForTests(n)); else it is loaded from datasetDir. */
  dataset?: Dataset;
  datasetDir?: string;
  /** The bakeoff home whose datasets/ holds the registered datasets (NAME:split). Default stateDir. */
  home?: string;
  /** FAISS indexes and trained rerankers: <indexDir>/<table>/... Default <stateDir>/indexes. */
  indexDir?: string;
  /** Evaluation manifests and per-case results. Default <stateDir>/eval. */
  manifestDir?: string;
  /** Shared artifact store: index builds are published there by hash (issue 17 item 3); absent = local files only. */
  artifacts?: ArtifactStore;
  retrieval?: RetrievalOptionsInput;
  seed?: number;
  ingestBatchSize?: number;
  /** Questions the probes retrieve with (first N dev cases, then train). */
  probeQueries?: number;
  /** Reranker audit trail directory; null: none. Default <indexDir>/<table>/rerank-audit.jsonl. */
  rerankAudit?: boolean;
  log?: (line: string) => void;
  /** Ingest progress besides the heartbeat (a CLI's progress bar). */
  onIngestProgress?: (p: IngestProgress) => void;
}

/** What shadowIngest heartbeats; a retried attempt reads it back from heartbeatDetails. */
export interface IngestHeartbeat {
  phase: 'ingest' | 'index';
  ingestRunId: string;
  table: string;
  cursor: number;
  docsTotal: number;
  chunks: number;
  /** Sequence fingerprint of the corpus the cursor counts into (src/rag/corpus-fingerprint.ts). */
  corpusFingerprint: string;
  /** `index/count` of a shard's ingest (its cursor counts into the same sequence, over its own documents only). */
  shard?: string;
}


const ShadowIngestInputSchema = z.strictObject({ locked: z.unknown(), table: TableName, dryRun: z.boolean() });
const EvaluateInputSchema = z.strictObject({
  side: z.enum(['candidate', 'baseline']),
  table: TableName,
  index: z.string().min(1).nullable(),
  // NAME:split; `faq` is the bundled dataset (train, dev, all), any other NAME a registered one.
  caseSetRef: CaseSetRefSchema.refine((r) => !parseCaseSetRef(r).bundled || /^faq:(train|dev|all)$/.test(r), { error: (iss) => `caseSetRef ${JSON.stringify(iss.input)} must be faq:train, faq:dev or faq:all (the bundled dataset), or NAME:split of a registered one` }),
  k: z.number().int().min(1).max(100),
  maxCases: z.number().int().min(1).optional(),
  runLabel: z.string().min(1).max(500),
});
const PairSide = z.strictObject({ table: TableName, index: z.string().min(1).nullable(), runLabel: z.string().min(1).max(500) });
const EvaluatePairInputSchema = z.strictObject({
  caseSetRef: EvaluateInputSchema.shape.caseSetRef,
  k: EvaluateInputSchema.shape.k,
  maxCases: EvaluateInputSchema.shape.maxCases,
  candidate: PairSide,
  baseline: PairSide,
});
const ProbeInputSchema = z.strictObject({ locked: z.unknown(), table: TableName, index: z.string().min(1).nullable() });

export interface SideResources {
  table: string;
  store: ChunkStore;
  embedder: EmbedderLike;
  retriever: HybridRetriever;
  rows: number;
  ingestRunId: string | null;
  flat: FaissIndex | null;
  ivf: FaissIndex | null;
}

/** The data plane of one worker: its caches live as long as the worker process. */
export class DataPlane {
  readonly indexDir: string;
  readonly manifestDir: string;
  readonly seed: number;
  private readonly embedders = new Map<string, Promise<EmbedderLike>>();
  private readonly indexes = new Map<string, { stamp: string; index: FaissIndex }>();
  private readonly rerankers = new Map<string, Promise<RerankerService | null>>();
  private datasetPromise: Promise<Dataset> | null = null;
  /** The tail of the queue of evaluations (see evaluate). */
  private evaluations: Promise<void> = Promise.resolve();

  constructor(private readonly deps: DataPlaneDeps) {
    this.indexDir = deps.indexDir ?? path.join(stateDir, 'indexes');
    this.manifestDir = deps.manifestDir ?? path.join(stateDir, 'eval');
    this.seed = deps.seed ?? DEFAULT_SEED;
  }

  private log(line: string): void {
    this.deps.log?.(line);
  }

  embedder(name: string): Promise<EmbedderLike> {
    let p = this.embedders.get(name);
    if (!p) {
      p = (this.deps.loadEmbedder ?? ((n: string): Promise<EmbedderLike> => Embedder.load(n)))(name);
      p.catch(() => this.embedders.delete(name)); // a failed load may succeed once provisioned
      this.embedders.set(name, p);
    }
    return p;
  }

  dataset(): Promise<Dataset> {
    if (this.deps.dataset) return Promise.resolve(this.deps.dataset);
    this.datasetPromise ??= loadDataset(this.deps.datasetDir).catch((err) => {
      this.datasetPromise = null;
      if (err instanceof DatasetError) throw ApplicationFailure.create({ type: 'DatasetUnavailable', nonRetryable: true, message: err.message });
      throw err;
    });
    return this.datasetPromise;
  }

  /** A saved FAISS index, loaded once and reloaded only when its checksums change (a rebuild). */
  loadIndex(dir: string): FaissIndex {
    const sums = path.join(dir, 'SHA256SUMS');
    const stamp = fs.existsSync(sums) ? fs.readFileSync(sums, 'utf8') : '';
    const hit = this.indexes.get(dir);
    if (hit && hit.stamp === stamp) return hit.index;
    const index = FaissIndex.load(dir);
    this.indexes.set(dir, { stamp, index });
    return index;
  }

  // ---- shadowIngest ------------------------------------------------------------------------------

  /**
   * `claimant` names a caller outside a bakeoff (the CLI's `bakeoff ingest`); inside an activity the
   * bakeoff's workflow id is the claimant. The table is refused (ShadowTableInUse) when a lane serves
   * it or another running bakeoff / ingest holds it; see src/store/shadow-table-claim.ts.
   */
  async shadowIngest(raw: ShadowIngestInput, opts: { claimant?: string } = {}): Promise<ShadowIngestReport> {
    const input = parseInput(ShadowIngestInputSchema, raw, 'shadowIngest');
    const locked = lockedOrFail(input.locked);
    const t0 = Date.now();
    const release = await this.claimTable(input.table, locked, input.dryRun, opts.claimant);
    try {
      return await this.ingestClaimed(input, locked, t0, release.refresh);
    } finally {
      await release.done();
    }
  }

  /** Claims the target table (a dry run's scratch table is only checked against the serving lanes). */
  async claimTable(table: string, locked: LockedConfig, dryRun: boolean, claimant?: string): Promise<{ refresh: () => void; done: () => Promise<void> }> {
    const none = { refresh: () => undefined, done: async () => undefined };
    if (dryRun) {
      await assertNotServing(this.deps.db, table);
      return none;
    }
    const workflowId = activityContext()?.info.workflowExecution?.workflowId ?? null;
    const who = workflowId !== null ? `bakeoff:${workflowId}` : (claimant ?? `ingest@${os.hostname()}:${process.pid}`);
    await claimShadowTable(this.deps.db, table, { workflowId, claimant: who, ingestRunId: locked.ingest_run_id, configHash: locked.config_hash });
    if (workflowId !== null) return none; // a bakeoff's claim lasts as long as its lane lease
    let last = Date.now();
    return {
      // A CLI ingest keeps its claim alive with its progress, and gives it up when it ends.
      refresh: () => {
        if (Date.now() - last < 10_000) return;
        last = Date.now();
        void refreshShadowTableClaim(this.deps.db, table, who).catch(() => undefined);
      },
      done: () => dropShadowTableClaim(this.deps.db, table, who).catch(() => undefined),
    };
  }

  private async ingestClaimed(input: { table: string; dryRun: boolean }, locked: LockedConfig, t0: number, refreshClaim: () => void): Promise<ShadowIngestReport> {
    const { report, docsTotal, corpus } = await this.ingestRows(input, locked, refreshClaim);
    return this.buildIndexesOf(input, locked, t0, { report, docsTotal, corpus });
  }

  /**
   * The rows of an ingest (all documents, or one shard's: src/activities/ingest-shards.ts), resumed from
   * the heartbeat's cursor when it was taken over this corpus (and this shard).
   */
  async ingestRows(input: { table: string; dryRun: boolean }, locked: LockedConfig, refreshClaim: () => void, shard?: Shard): Promise<{ report: IngestReport; docsTotal: number; corpus: string }> {
    const embedder = await this.embedder(locked.embedder);
    if (embedder.tokenizerHash !== locked.tokenizer_hash) {
      throw ApplicationFailure.create({
        type: 'ConfigValidationError',
        nonRetryable: true,
        message: `tokenizer_hash ${locked.tokenizer_hash} of the locked config is not the loaded ${locked.embedder} tokenizer's (${embedder.tokenizerHash}): chunk sizes would be counted in other tokens`,
      });
    }
    const registered = registeredDatasetOf(locked);
    const dataset = registered === null ? await this.dataset() : null;
    const docs: IngestDocs = dataset ? dataset.docs : this.registeredCorpus(locked, registered!);
    const ctx = activityContext();
    const previous = ctx?.info.heartbeatDetails as Partial<IngestHeartbeat> | undefined;
    /** The corpus's sequence fingerprint, known once ingest's fingerprint pass has read it. */
    let corpus = '';
    // A heartbeat cursor is a position in one document sequence: trusted only with that sequence's
    // fingerprint (a heartbeat without one, or over a changed corpus, falls back to the stored cursor).
    const shardName = shard ? `${shard.index}/${shard.count}` : undefined;
    const resumable = previous && previous.ingestRunId === locked.ingest_run_id && previous.table === input.table && previous.shard === shardName && typeof previous.cursor === 'number';
    const startCursor = resumable ? previous.cursor : undefined;
    const startCursorCorpus = resumable ? (typeof previous.corpusFingerprint === 'string' ? previous.corpusFingerprint : 'unrecorded') : undefined;

    const report = await runShadowIngest({
      db: this.deps.db,
      config: locked,
      docs,
      // The corpus must still be the snapshot the bakeoff locked, FAQ or registered (checked before anything is written).
      expectedSnapshot: locked.corpus_snapshot,
      onCorpus: (f) => {
        corpus = f.sequence;
        if (resumable) this.log(`shadowIngest ${input.table}: last heartbeat at document ${startCursor} (${previous.phase}), corpus ${startCursorCorpus === corpus ? 'unchanged: resuming there' : 'changed or unrecorded: not trusted'}`);
      },
      // Reading without committing (the fingerprint pass): the last heartbeat's cursor stays the one to resume from.
      onReading: () => heartbeat(resumable ? previous : undefined),
      embedder,
      table: input.table,
      startCursor,
      startCursorCorpus,
      batchSize: this.deps.ingestBatchSize,
      shard,
      onProgress: (p) => {
        refreshClaim();
        this.deps.onIngestProgress?.(p);
        heartbeat({ phase: 'ingest', ingestRunId: locked.ingest_run_id, table: input.table, cursor: p.docsDone, docsTotal: p.docsTotal, chunks: p.chunks, corpusFingerprint: corpus, ...(shardName ? { shard: shardName } : {}) } satisfies IngestHeartbeat);
      },
    }).catch((err: unknown) => {
      // Not the locked corpus, or it changed while it was read: the user's data to fix, not retried.
      if (err instanceof CorpusChangedError || err instanceof RegistryError || err instanceof SourceError) {
        const where = err instanceof RegistryError ? '' : registered !== null ? `dataset ${registered}: ` : 'bundled FAQ corpus: ';
        throw ApplicationFailure.create({ type: 'CorpusChanged', nonRetryable: true, message: `${where}${err.message}` });
      }
      throw err;
    });
    if (report.cursor_refused) this.log(`shadowIngest ${input.table}: heartbeat cursor not used: ${report.cursor_refused}`);
    if (report.stale_chunks_removed > 0) this.log(`shadowIngest ${input.table}: ${report.stale_chunks_removed} chunks no longer produced by the corpus deleted (${report.docs_removed} documents gone from it)`);
    // New rows change what a cached reranker of this table was trained on (a shard's worker may not build).
    for (const key of [...this.rerankers.keys()]) if (key.startsWith(`${input.table}|`)) this.rerankers.delete(key);
    return { report, docsTotal: report.docs_total, corpus };
  }

  /** The FAISS indexes of an ingested table (published to the artifact store when there is one). */
  async buildIndexesOf(
    input: { table: string; dryRun: boolean },
    locked: LockedConfig,
    t0: number,
    ingested: { report: Pick<IngestReport, 'ingest_run_id' | 'chunks' | 'docs_ingested' | 'duplicates_removed' | 'dedup_rate'> & { corpus_fingerprint?: string }; docsTotal: number; corpus: string },
  ): Promise<ShadowIngestReport> {
    const { report, docsTotal, corpus } = ingested;
    const embedder = await this.embedder(locked.embedder);
    const registered = registeredDatasetOf(locked);
    const dataset = registered === null ? await this.dataset() : null;
    const indexing: IngestHeartbeat = { phase: 'index', ingestRunId: locked.ingest_run_id, table: input.table, cursor: docsTotal, docsTotal, chunks: report.chunks, corpusFingerprint: corpus };
    heartbeat(indexing);

    // Queries for choosing nprobe: the training questions (the dev split stays unseen by every choice).
    const train = (dataset ? dataset.cases : this.registeredCases(`${registered}:all`)).filter((c) => c.split === 'train').slice(0, 200);
    const sweepQueries = train.length > 0 ? await embedder.embed(train.map((c) => c.question)) : [];
    const built = await buildTableIndexes({
      db: this.deps.db,
      table: input.table,
      indexDir: this.indexDir,
      ingestRunId: locked.ingest_run_id,
      configHash: locked.config_hash,
      embedder: locked.embedder,
      sweepQueries,
      onProgress: () => heartbeat(indexing),
      artifacts: this.deps.artifacts,
      // Trained once, here, over the new IVF index: every worker and replica then loads it by hash.
      // Its heartbeats keep the ingest's cursor (phase 'index'): a retried attempt still resumes from it.
      reranker: ({ ivf }) => this.trainBuildReranker(input.table, locked.ingest_run_id, embedder, ivf, registered, dataset, () => heartbeat(indexing)),
    });
    this.indexes.set(built.pointer.flat, { stamp: fs.readFileSync(path.join(built.pointer.flat, 'SHA256SUMS'), 'utf8'), index: built.flat });
    this.indexes.set(built.pointer.ivf, { stamp: fs.readFileSync(path.join(built.pointer.ivf, 'SHA256SUMS'), 'utf8'), index: built.ivf });
    // A new ingest changes what a cached reranker was trained on.
    for (const key of [...this.rerankers.keys()]) if (key.startsWith(`${input.table}|`)) this.rerankers.delete(key);
    this.log(
      `shadowIngest ${input.table}: ${report.chunks} chunks from ${report.docs_ingested} documents, dedup ${(report.dedup_rate * 100).toFixed(2)} %, ` +
        `IVF${built.pointer.nlist} nprobe ${built.pointer.nprobe} (overlap@10 ${built.pointer.overlap_at_10 ?? 'n/a'})${input.dryRun ? ' [dry run]' : ''}`,
    );
    return {
      table: input.table,
      ingestRunId: report.ingest_run_id,
      documents: report.docs_ingested,
      chunks: report.chunks,
      duplicatesRemoved: report.duplicates_removed,
      dedupRate: report.dedup_rate,
      index: { flat: built.pointer.flat, ivf: built.pointer.ivf },
      durationMs: Date.now() - t0,
      ...(report.corpus_fingerprint ? { corpusSnapshot: report.corpus_fingerprint } : {}),
    };
  }

  /**
   * The reranker of a new build, fitted on the dataset's own train split over this table (lift on dev):
   * the bundled FAQ's gold documents, or a registered dataset's qrels (any relevant document a positive).
   * None when the dataset lacks train or dev cases, or the table holds none of the train cases' relevant documents.
   */
  private async trainBuildReranker(
    table: string,
    ingestRunId: string,
    embedder: EmbedderLike,
    ivf: FaissIndex,
    registered: string | null,
    dataset: Dataset | null,
    beat: () => void,
  ): Promise<BuildReranker> {
    const name = registered ?? 'the bundled FAQ';
    const cases: TrainingCase[] = (dataset ? dataset.cases : this.registeredCases(`${registered}:all`)).filter((c) => c.split === 'train' || c.split === 'dev');
    const train = cases.filter((c) => c.split === 'train');
    const none = (absent: string): BuildReranker => {
      this.log(`reranker for ${table}: none (${absent}); fused order is served`);
      return { absent };
    };
    if (train.length === 0 || !cases.some((c) => c.split === 'dev')) return none(`dataset ${name} has ${train.length} train and ${cases.length - train.length} dev cases; a reranker needs both`);
    const relevant = [...new Set(train.flatMap((c) => ('relevant' in c ? Object.keys(c.relevant).filter((d) => c.relevant[d] > 0) : [c.gold_doc_id])))];
    const held = await this.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(table)} WHERE doc_id = ANY($1::text[])`, [relevant]);
    if (held.rows[0].n === 0) return none(`the table holds none of the relevant documents of ${name}'s train cases`);
    const store = new ChunkStore(this.deps.db, table, embedder.dims);
    const retriever = new HybridRetriever({ store, encoder: embedder, vector: faissSearcher(ivf), options: this.deps.retrieval });
    const t0 = Date.now();
    const trained = await trainTableReranker(retriever, cases, { source: `${table}@${ingestRunId}`, onCase: beat });
    const modelFile = rerankerFile(this.indexDir, table, ingestRunId, retriever.vector.source);
    new LearnedReranker(trained.model).save(modelFile);
    const liftFile = modelFile.replace(/\.json$/, '.lift.json');
    fs.writeFileSync(liftFile, JSON.stringify(trained.lift, null, 2) + '\n');
    this.log(
      `reranker for ${table}: trained with the index build on ${trained.trainCases.length} train cases of ${name} in ${Date.now() - t0} ms; ` +
        `dev MRR@10 ${trained.lift.fused.mrr_at_10.toFixed(3)} → ${trained.lift.reranked.mrr_at_10.toFixed(3)}`,
    );
    return { modelFile, liftFile, source: retriever.vector.source };
  }

  // ---- evaluate ----------------------------------------------------------------------------------

  /**
   * One evaluation at a time per data plane (process). The workflow evaluates both sides at once; on
   * one machine the side that finished loading first was timed while the other trained its reranker on
   * the same cores and embedding thread (the demo's candidate: encode p95 ~290 vs ~41 ms, an offline
   * p95 gate failed on an equal model). Timed alone, the two sides' latencies compare like for like. A
   * waiting evaluation heartbeats, so its heartbeat timeout does not fire while it queues.
   */
  evaluate(raw: EvaluateInput): Promise<EvalReport> {
    return this.timedAlone(() => this.evaluateAlone(raw));
  }

  /**
   * Candidate and baseline in one activity, interleaved case by case (src/rag/evaluate-paired.ts): a
   * latency comparison of two activities could compare two data workers, or one worker at two loads.
   * Both sides are loaded (rerankers trained) before the first case is timed.
   */
  evaluatePair(raw: EvaluatePairInput): Promise<{ candidate: EvalReport; baseline: EvalReport }> {
    return this.timedAlone(() => this.evaluatePairAlone(raw));
  }

  /** Runs `f` when every evaluation queued before it on this data plane has finished. */
  private async timedAlone<T>(f: () => Promise<T>): Promise<T> {
    const turn = this.evaluations;
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    this.evaluations = turn.then(() => mine);
    const ctx = activityContext();
    const waiting = setInterval(() => ctx?.heartbeat({ phase: 'waiting: another evaluation is being timed on this worker' }), 5_000);
    try {
      await turn;
    } finally {
      clearInterval(waiting);
    }
    try {
      return await f();
    } finally {
      done();
    }
  }

  /** The bundled FAQ's cases of a faq:split ref, the first maxCases of them if given. */
  private async bundledCases(input: { caseSetRef: string; maxCases?: number }): Promise<{ dataset: Dataset; cases: EvalCase[] }> {
    const dataset = await this.dataset();
    const split = input.caseSetRef.slice('faq:'.length);
    let cases: EvalCase[] = split === 'all' ? dataset.cases : dataset.cases.filter((c) => c.split === split);
    if (input.maxCases !== undefined) cases = cases.slice(0, input.maxCases);
    if (cases.length === 0) throw ApplicationFailure.create({ type: 'BakeoffInputError', nonRetryable: true, message: `case set ${input.caseSetRef} has no cases` });
    return { dataset, cases };
  }

  private async evaluatePairAlone(raw: EvaluatePairInput): Promise<{ candidate: EvalReport; baseline: EvalReport }> {
    const input = parseInput(EvaluatePairInputSchema, raw, 'evaluatePair');
    const caseSet = input.caseSetRef + (input.maxCases !== undefined ? `[:${input.maxCases}]` : '');
    const sides = { candidate: await this.side(input.candidate.table, input.candidate.index), baseline: await this.side(input.baseline.table, input.baseline.index) };
    const common = (which: 'candidate' | 'baseline') => ({
      side: which,
      table: input[which].table,
      db: this.deps.db,
      retriever: sides[which].retriever,
      encoder: sides[which].embedder,
      k: input.k,
      runLabel: input[which].runLabel,
      caseSet,
      manifestDir: this.manifestDir,
      artifacts: this.deps.artifacts,
    });
    let pair: { candidate: PairedSide; baseline: PairedSide };
    if (parseCaseSetRef(input.caseSetRef).bundled) {
      const { dataset, cases } = await this.bundledCases(input);
      const docs = new Map<string, CorpusDoc>(dataset.docs.map((d) => [d.doc_id, d]));
      const faq = (which: 'candidate' | 'baseline') => faqSide({ ...common(which), cases, docs, seed: this.seed, datasetManifest: dataset.manifest, embedderId: sides[which].embedder.modelId });
      pair = { candidate: faq('candidate'), baseline: faq('baseline') };
    } else {
      let cases = this.registeredCases(input.caseSetRef);
      if (input.maxCases !== undefined) cases = cases.slice(0, input.maxCases);
      const snapshot = this.registry(() => registeredSnapshot(this.home, parseCaseSetRef(input.caseSetRef).dataset));
      const judged = (which: 'candidate' | 'baseline') => judgedSide({ ...common(which), cases, corpusSnapshot: snapshot });
      pair = { candidate: judged('candidate'), baseline: judged('baseline') };
    }
    heartbeat({ phase: 'evaluate-pair', done: 0, total: pair.candidate.cases });
    const out = await evaluatePaired(pair.candidate, pair.baseline, (done, total) => heartbeat({ phase: 'evaluate-pair', done, total }));
    const m = (r: EvalReport) => `hit@${input.k} ${r.metrics.hit_rate.toFixed(3)}, MRR ${r.metrics.mrr.toFixed(3)}, p95 ${r.latencyMs.total.p95.toFixed(1)} ms`;
    this.log(`evaluatePair on ${pair.candidate.cases} cases of ${caseSet}, interleaved: candidate ${input.candidate.table} ${m(out.candidate)}; baseline ${input.baseline.table} ${m(out.baseline)}`);
    return out;
  }

  private async evaluateAlone(raw: EvaluateInput): Promise<EvalReport> {
    const input = parseInput(EvaluateInputSchema, raw, 'evaluate');
    if (!parseCaseSetRef(input.caseSetRef).bundled) return this.evaluateRegistered(input);
    const { dataset, cases } = await this.bundledCases(input);
    const side = await this.side(input.table, input.index);
    const docs = new Map<string, CorpusDoc>(dataset.docs.map((d) => [d.doc_id, d]));
    heartbeat({ phase: 'evaluate', done: 0, total: cases.length });
    const result = await evaluateSide({
      side: input.side,
      table: input.table,
      db: this.deps.db,
      retriever: side.retriever,
      encoder: side.embedder,
      cases,
      docs,
      k: input.k,
      seed: this.seed,
      runLabel: input.runLabel,
      caseSet: input.caseSetRef + (input.maxCases !== undefined ? `[:${input.maxCases}]` : ''),
      datasetManifest: dataset.manifest,
      embedderId: side.embedder.modelId,
      manifestDir: this.manifestDir,
      artifacts: this.deps.artifacts,
      onCase: (done, total) => heartbeat({ phase: 'evaluate', done, total }),
    });
    this.log(`evaluate ${input.side} ${input.table}: hit@${input.k} ${result.report.metrics.hit_rate.toFixed(3)}, MRR ${result.report.metrics.mrr.toFixed(3)}, F1 ${result.report.metrics.f1.toFixed(3)} on ${cases.length} cases`);
    return result.report;
  }

  /** A registered dataset's NAME:split, scored with several relevant documents and graded relevance. */
  private async evaluateRegistered(input: z.output<typeof EvaluateInputSchema>): Promise<EvalReport> {
    const name = parseCaseSetRef(input.caseSetRef).dataset;
    let cases = this.registeredCases(input.caseSetRef);
    if (input.maxCases !== undefined) cases = cases.slice(0, input.maxCases);
    const snapshot = this.registry(() => registeredSnapshot(this.home, name));
    const side = await this.side(input.table, input.index);
    heartbeat({ phase: 'evaluate', done: 0, total: cases.length });
    const report = await evaluateJudged({
      side: input.side,
      table: input.table,
      db: this.deps.db,
      retriever: side.retriever,
      encoder: side.embedder,
      cases,
      k: input.k,
      runLabel: input.runLabel,
      caseSet: input.caseSetRef + (input.maxCases !== undefined ? `[:${input.maxCases}]` : ''),
      corpusSnapshot: snapshot,
      manifestDir: this.manifestDir,
      artifacts: this.deps.artifacts,
      onCase: (done, total) => heartbeat({ phase: 'evaluate', done, total }),
    });
    const na = report.caseSupport?.unsupported.map((u) => u.metric).join('/') ?? '';
    this.log(`evaluate ${input.side} ${input.table}: hit@${input.k} ${report.metrics.hit_rate.toFixed(3)}, nDCG@10 ${report.metrics.ndcg.toFixed(3)}${na ? `, ${na} n/a` : `, F1 ${report.metrics.f1.toFixed(3)}`} on ${cases.length} cases of ${input.caseSetRef}`);
    return report;
  }

  get home(): string {
    return this.deps.home ?? stateDir;
  }

  /** A registry call whose RegistryError (a user's dataset problem) fails without retries, in one line. */
  private registry<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof RegistryError) throw ApplicationFailure.create({ type: 'DatasetUnavailable', nonRetryable: true, message: err.message });
      throw err;
    }
  }

  private registeredCases(ref: string): LabelledCase[] {
    return this.registry(() => resolveRegisteredCaseSet(this.home, ref));
  }

  /**
   * A registered corpus as a stream that ingest reads (twice) batch by batch, never whole: refused when
   * its registered snapshot is not the one the config locked, and re-checked against the registration
   * on every pass (registeredCorpusBatches; its RegistryError becomes CorpusChanged in ingestRows).
   */
  private registeredCorpus(locked: LockedConfig, name: string): AsyncIterable<IngestDoc> {
    const mismatch = corpusSnapshotMismatch(locked, this.registry(() => registeredSnapshot(this.home, name)));
    if (mismatch) throw ApplicationFailure.create({ type: 'CorpusChanged', nonRetryable: true, message: mismatch });
    const home = this.home;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const batch of registeredCorpusBatches(home, name)) yield* batch;
      },
    };
  }

  // ---- runProbes ---------------------------------------------------------------------------------

  async runProbes(raw: ProbeInput): Promise<ProbeResult[]> {
    const input = parseInput(ProbeInputSchema, raw, 'runProbes');
    const locked = lockedOrFail(input.locked);
    const registered = registeredDatasetOf(locked);
    const side = await this.side(input.table, input.index);
    const n = this.deps.probeQueries ?? 50;
    // A registered dataset's probes ask its own questions (its splits may be named anything).
    const pool = registered !== null ? this.registeredCases(`${registered}:all`) : await this.dataset().then((d) => [...d.cases.filter((c) => c.split === 'dev'), ...d.cases.filter((c) => c.split === 'train')]);
    const questions = pool.slice(0, n).map((c) => c.question);
    const results: RetrievalResult[] = [];
    for (const q of questions) {
      results.push(await side.retriever.retrieve(q));
      heartbeat({ phase: 'probes', done: results.length, total: questions.length });
    }
    const queryVectors = results.map((r) => r.queryVector);
    const probes = [
      await probePrefixLeakage(this.deps.db, input.table, locked.prefix_policy),
      await probeMaxEmbeddingTokens(this.deps.db, input.table, side.embedder),
      await probeDedupRate(this.deps.db, input.table),
      probeSnapshotBreadth(results, side.retriever.options.snapshotK, side.rows),
      probeIvfFlatOverlap(side.flat, side.ivf, queryVectors, 10),
      await probeUnitNorm(this.deps.db, input.table, queryVectors),
      probeFingerprints(results, locked),
    ];
    this.log(`probes ${input.table}: ${probes.map((p) => `${p.name}=${p.verdict}`).join(', ')}`);
    return probes;
  }

  // ---- shared ------------------------------------------------------------------------------------

  /**
   * Store, embedder, vector search and reranker of a table: the given index, its recorded one, or
   * pgvector. Cached pieces are shared with the activities (the serving path can call this too).
   */
  async side(table: string, indexPath: string | null): Promise<SideResources> {
    const db = this.deps.db;
    const exists = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`,
      [table],
    );
    if (exists.rows[0].n === 0) throw ApplicationFailure.create({ type: 'TableNotFound', nonRetryable: true, message: `table ${table} does not exist` });
    const fingerprints = await tableFingerprints(db, table);
    const rows = fingerprints.reduce((s, f) => s + f.rows, 0);
    if (rows === 0) throw ApplicationFailure.create({ type: 'TableNotFound', nonRetryable: true, message: `table ${table} is empty` });
    const dimRow = await db.query<{ d: number }>(`SELECT vector_dims(embedding) AS d FROM ${quoteIdent(table)} LIMIT 1`);
    const dims = dimRow.rows[0].d;
    const ingestRunId = fingerprints[0].ingest_run_id;

    const pointer = readIndexPointer(this.indexDir, table);
    const embedder = await this.embedder(pointer?.embedder ?? DEFAULT_EMBEDDER);
    if (embedder.dims !== dims) throw ApplicationFailure.create({ type: 'BakeoffInputError', nonRetryable: true, message: `table ${table} holds ${dims}-dim vectors, embedder ${embedder.name} makes ${embedder.dims}` });

    let ivf: FaissIndex | null = null;
    let flat: FaissIndex | null = null;
    let ivfDir = indexPath ?? (pointer && pointer.ingest_run_id === ingestRunId ? pointer.ivf : null);
    let flatDir = ivfDir ? path.join(path.dirname(ivfDir), 'flat') : null;
    // A build of another data worker (sharded ingest, an evaluation on another worker): a path outside
    // this worker's own index dir is another machine's, so the build is fetched by hash, never read there.
    if (this.deps.artifacts && (!ivfDir || !isInside(ivfDir, this.indexDir) || !fs.existsSync(ivfDir))) {
      const published = await readPublishedIndexPointer(this.deps.artifacts, table);
      if (published?.ivf_sha256 && published.ingest_run_id === ingestRunId && (!ivfDir || ivfDir === published.ivf)) {
        ivfDir = await this.deps.artifacts.fetchDir(published.ivf_sha256);
        flatDir = published.flat_sha256 ? await this.deps.artifacts.fetchDir(published.flat_sha256) : null;
      }
    }
    if (ivfDir) {
      try {
        ivf = this.loadIndex(ivfDir);
      } catch (err) {
        throw ApplicationFailure.create({ type: 'IndexUnavailable', nonRetryable: true, message: `index ${ivfDir} of ${table}: ${(err as Error).message}` });
      }
      if (flatDir && fs.existsSync(flatDir)) flat = this.loadIndex(flatDir);
    }
    const store = new ChunkStore(db, table, dims);
    const base = new HybridRetriever({ store, encoder: embedder, vector: ivf ? faissSearcher(ivf) : pgvectorSearcher(store), options: this.deps.retrieval });
    const reranker = await this.reranker(table, ingestRunId, base);
    return { table, store, embedder, retriever: base.withReranker(reranker), rows, ingestRunId, flat, ivf };
  }

  /**
   * The learned reranker of a table's ingest run: loaded from disk, or trained on the dataset's train
   * split over this very table (lift on dev written beside it). null when the dataset has no train/dev cases.
   */
  private reranker(table: string, ingestRunId: string, retriever: HybridRetriever): Promise<RerankerService | null> {
    const key = `${table}|${ingestRunId}|${retriever.vector.source}`;
    let p = this.rerankers.get(key);
    if (!p) {
      p = this.loadOrTrainReranker(table, ingestRunId, retriever);
      p.catch(() => this.rerankers.delete(key));
      this.rerankers.set(key, p);
    }
    return p;
  }

  /** This ingest run's build record: the published one (any worker's), else this worker's own. */
  private async buildOf(table: string, ingestRunId: string): Promise<IndexPointer | null> {
    const published = this.deps.artifacts ? await readPublishedIndexPointer(this.deps.artifacts, table) : null;
    if (published?.ingest_run_id === ingestRunId) return published;
    const local = readIndexPointer(this.indexDir, table);
    return local?.ingest_run_id === ingestRunId ? local : null;
  }

  private async loadOrTrainReranker(table: string, ingestRunId: string, retriever: HybridRetriever): Promise<RerankerService | null> {
    const file = rerankerFile(this.indexDir, table, ingestRunId, retriever.vector.source);
    const dir = path.dirname(file);
    const build = await this.buildOf(table, ingestRunId);
    const published = publishedRerankerFor(build, retriever.vector.source);
    let model: LearnedReranker;
    if (build?.reranker_absent) {
      return null; // the build said why, once, in its log; the pointer and the serving status say it too
    } else if (build && published) {
      // The build's reranker, by hash: never retrained here (another fit could rank differently).
      try {
        model = await loadPublishedReranker({ pointer: build, sha256: published, artifacts: this.deps.artifacts, indexDir: this.indexDir });
      } catch (err) {
        if (err instanceof RerankerUnavailable) throw ApplicationFailure.create({ type: 'RerankerUnavailable', nonRetryable: true, message: err.message });
        throw err;
      }
      this.log(`reranker for ${table}: sha256:${published.slice(0, 12)} published with the index build, loaded by hash`);
    } else if (fs.existsSync(file)) {
      model = LearnedReranker.load(file);
    } else {
      const dataset = await this.dataset();
      const labelled = dataset.cases.filter((c) => c.split === 'train' || c.split === 'dev');
      if (!labelled.some((c) => c.split === 'train') || !labelled.some((c) => c.split === 'dev')) return null;
      // A table of another corpus (a registered dataset) holds none of the FAQ's gold documents: its
      // reranker cannot be fitted on them (no positives), so it runs without one.
      const gold = [...new Set(labelled.filter((c) => c.split === 'train').map((c) => c.gold_doc_id))];
      const held = await this.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(table)} WHERE doc_id = ANY($1::text[])`, [gold]);
      if (held.rows[0].n === 0) {
        this.log(`reranker for ${table}: none (the table holds none of the bundled FAQ's labelled documents)`);
        return null;
      }
      const trained = await trainTableReranker(retriever, labelled, { source: `${table}@${ingestRunId}`, onCase: (done, total) => heartbeat({ phase: 'rerank-training', done, total }) });
      model = new LearnedReranker(trained.model);
      model.save(file);
      fs.writeFileSync(path.join(dir, `reranker-${retriever.vector.source}.lift.json`), JSON.stringify(trained.lift, null, 2) + '\n');
      this.log(`reranker for ${table}: trained on ${trained.trainCases.length} train cases; dev MRR@10 ${trained.lift.fused.mrr_at_10.toFixed(3)} → ${trained.lift.reranked.mrr_at_10.toFixed(3)}`);
    }
    return new RerankerService(model, {
      rateLimit: null, // the data plane's own evaluation loop is not a client to protect against
      auditFile: this.deps.rerankAudit === false ? undefined : path.join(this.indexDir, table, 'rerank-audit.jsonl'),
    });
  }

  /** Stats of every reranker service this worker has built (for /health). */
  async rerankerStats(): Promise<RerankerStats[]> {
    const out: RerankerStats[] = [];
    for (const p of this.rerankers.values()) {
      const s = await p.catch(() => null);
      if (s) out.push(s.stats());
    }
    return out;
  }

  /** Closes the reranker audit trails. */
  async close(): Promise<void> {
    for (const p of this.rerankers.values()) {
      const s = await p.catch(() => null);
      await s?.close();
    }
    this.rerankers.clear();
  }
}

/** The activities the workflow calls; pass a DataPlane to share its caches with other callers. */
export function createDataPlaneActivities(deps: DataPlaneDeps | DataPlane): Omit<DataPlaneActivities, 'lockConfig' | 'ingestShard' | 'buildIndexes'> {
  const plane = deps instanceof DataPlane ? deps : new DataPlane(deps);
  return {
    lockCorpus: (input) => lockCorpus(plane, input),
    shadowIngest: (input) => plane.shadowIngest(input),
    evaluate: (input) => plane.evaluate(input),
    evaluatePair: (input) => plane.evaluatePair(input),
    runProbes: (input) => plane.runProbes(input),
  };
}
