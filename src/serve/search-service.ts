// The serving pipeline of one lane: snapshot the pointer state once, route the request key to a side,
// answer from the result cache or run the side's hybrid retriever (encode → BM25 + ANN → RRF →
// rerank → filter), stamp every result with its fingerprint and side, and feed metrics and live KPIs.
// A candidate that cannot answer (not loaded, or failing) never fails the user: the baseline answers
// and the failure is counted against the candidate, where the canary check sees it.
// Shadow traffic (issue 14): when the pointer names a mirror target, mirror_percent of the requests the
// baseline answered are also answered by the mirror target AFTER the response is written, under a
// concurrency and rate bound (MirrorGate: dropped and counted when over it, never queued). The mirror's answer is
// never returned. Like for like: in the same slot the mirror job answers the request cold from BOTH
// sides (no answer cache and no query-embedding cache read or written), in alternating order, and records the two as traffic
// 'mirror' — a served answer that came from the cache would otherwise leave the baseline with almost no
// judged evidence on repeated queries. The label-free comparison is of the served rows against the
// mirror target's.
import type { Side } from '../store/live-kpis';
import type { Candidate, RetrievalResult } from '../rag/retrieve';
import { nearDuplicateShare, pairwiseDiversity, type KpiSample, type LiveKpiRecorder } from './live-kpis';
import { LruCache } from './lru-cache';
import type { PointerWatcher, ServingState } from './pointer-watcher';
import { withRerankOutcome } from './rerank-outcome';
import { routeSide } from './routing';
import { compareAnswers } from './answer-agreement';
import { MirrorGate } from './mirror-gate';
import { coldEncoding } from './caching-encoder';
import type { SearchRequest } from './search-request';
import type { ServeMetrics } from './serve-metrics';
import type { ServingSide } from './serving-side';
import { backendLatencyDraws, isActive, waitMs, waitPenalty, type BackendLatency, type LatencyPenalty } from './latency-penalty';

export class ServiceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnavailableError';
  }
}

export interface SearchResultRow {
  rank: number;
  chunk_id: string;
  doc_id: string;
  chunk_index: number;
  text: string;
  /** cosine(query, chunk). */
  cosine: number;
  rrf_score: number;
  rerank_score: number | null;
  ingest_run_id: string;
  chunk_version: string;
  config_hash: string;
  side: Side;
}

export interface SearchResponse {
  lane: string;
  pointerVersion: number;
  canaryPercent: number;
  /** The side that answered. */
  side: Side;
  /** The side the key was routed to (differs from side only on a fallback). */
  routedSide: Side;
  fallback: string | null;
  table: string;
  configHash: string | null;
  vectorSource: string;
  /** 'applied', 'none' (no reranker) or why it was skipped. */
  rerank: string;
  cached: boolean;
  timingsMs: { route: number; encode: number; search: number; rerank: number; total: number };
  results: SearchResultRow[];
}

/** What a cached answer keeps: the rows and the per-request KPI values they produced. */
interface CachedAnswer {
  rows: Omit<SearchResultRow, 'side'>[];
  rerank: string;
  topCosine: number | null;
  rerankAccepted: boolean | null;
  nearDupShare: number | null;
  diversityTop5: number | null;
}

export interface SearchServiceOptions {
  lane: string;
  watcher: PointerWatcher;
  kpis: LiveKpiRecorder;
  metrics: ServeMetrics;
  resultCacheSize: number;
  /** Candidates at least this similar to a better one count as near-duplicates. */
  nearDupCosine?: number;
  /** A reranked top passage scoring at least this is "accepted" by the reranker. */
  rerankAcceptScore?: number;
  /** Drill/test knob, off by default: slows the candidate's searches (see latency-penalty.ts). */
  candidatePenalty?: LatencyPenalty;
  /** Drill/test knob, off by default: a simulated backend wait on every search that runs, both sides (see latency-penalty.ts). */
  backendLatency?: BackendLatency;
  /** Where a candidate failure's detail goes; the client's `fallback` field names only its kind. */
  log?: (line: string) => void;
  /** Mirror jobs allowed at once (default 2) and started per second (default 5); more are dropped and counted. */
  mirrorConcurrency?: number;
  mirrorPerSecond?: number;
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

export class SearchService {
  readonly results: LruCache<string, CachedAnswer>;
  private readonly nearDupCosine: number;
  private readonly rerankAcceptScore: number;
  readonly mirrorGate: MirrorGate;
  private mirrorJobs = 0;
  private readonly backendDraw: (() => number) | null;

  constructor(private readonly o: SearchServiceOptions) {
    this.results = new LruCache(o.resultCacheSize);
    this.mirrorGate = new MirrorGate(o.mirrorConcurrency, o.mirrorPerSecond);
    this.nearDupCosine = o.nearDupCosine ?? 0.95;
    this.rerankAcceptScore = o.rerankAcceptScore ?? 0.5;
    this.backendDraw = backendLatencyDraws(o.backendLatency);
  }

  /** The simulated backend's wait after a search that ran (drill/test knob; none by default). */
  private backendWait(): Promise<void> {
    return this.backendDraw ? waitMs(this.backendDraw()) : Promise.resolve();
  }

  get lane(): string {
    return this.o.lane;
  }

  async search(req: SearchRequest): Promise<SearchResponse> {
    const t0 = process.hrtime.bigint();
    // The one read of shared state: everything below uses this snapshot only.
    const state = this.o.watcher.current();
    if (!state) throw new ServiceUnavailableError(this.o.watcher.status().lastError ?? 'the serving pointer is not loaded yet');
    const p = state.pointer;
    const routed = routeSide(req.key ?? req.query, p.canaryPercent, p.candidateTable !== null);
    const routeMs = ms(t0);
    this.o.metrics.routing.observe(routeMs / 1000);

    if (routed === 'candidate') {
      if (state.candidate) {
        try {
          return await this.answer(state, state.candidate, 'candidate', 'candidate', null, req, t0, routeMs);
        } catch (err) {
          // A driver's message names hosts, users and tables: logged, not sent to the client.
          this.o.log?.(`candidate search failed (answered by the baseline): ${(err as Error).message}`);
          return this.fallBack(state, req, t0, routeMs, 'candidate failed: search error', 'search');
        }
      }
      return this.fallBack(state, req, t0, routeMs, 'candidate not loaded (see GET /health)', 'unavailable');
    }
    try {
      return await this.answer(state, state.baseline, 'baseline', 'baseline', null, req, t0, routeMs);
    } catch (err) {
      this.o.metrics.requests.inc({ side: 'baseline', outcome: 'error' });
      this.o.metrics.errors.inc({ side: 'baseline', kind: 'search' });
      this.o.kpis.record(errorSample('baseline', p.liveConfigHash, ms(t0)));
      throw err;
    }
  }

  /** The candidate could not answer: count its failure, let the baseline answer the user. */
  private async fallBack(state: ServingState, req: SearchRequest, t0: bigint, routeMs: number, reason: string, kind: string): Promise<SearchResponse> {
    const latency = ms(t0);
    this.o.metrics.requests.inc({ side: 'candidate', outcome: 'fallback' });
    this.o.metrics.errors.inc({ side: 'candidate', kind });
    this.o.kpis.record(errorSample('candidate', state.pointer.candidateConfigHash, latency));
    return this.answer(state, state.baseline, 'baseline', 'candidate', reason, req, t0, routeMs, false);
  }

  private async answer(
    state: ServingState,
    side: ServingSide,
    sideName: Side,
    routed: Side,
    fallback: string | null,
    req: SearchRequest,
    t0: bigint,
    routeMs: number,
    countAsSample = true,
  ): Promise<SearchResponse> {
    const p = state.pointer;
    const configHash = sideName === 'candidate' ? p.candidateConfigHash : p.liveConfigHash;
    const cacheKey = `${side.key}\u0000${p.cacheEpoch}\u0000${req.query}`;
    let timings = { route: routeMs, encode: 0, search: 0, rerank: 0, total: 0 };
    let answer = this.results.get(cacheKey);
    const cached = answer !== undefined;
    this.o.metrics.cache('result', cached ? 1 : 0, cached ? 0 : 1);
    if (!answer) {
      const { value: result, outcome: rerankOutcome } = await withRerankOutcome(() => side.retriever.retrieve(req.query));
      const rerank = side.reranker === null ? 'none' : rerankOutcome.ran ? 'applied' : `skipped (${rerankOutcome.fallback ?? 'empty snapshot'})`;
      answer = this.toAnswer(result, side, rerank);
      this.results.set(cacheKey, answer);
      timings = { route: routeMs, encode: result.timings.encodeMs, search: result.timings.searchMs, rerank: result.timings.rerankMs, total: 0 };
      await this.backendWait();
      if (sideName === 'candidate' && isActive(this.o.candidatePenalty)) await waitPenalty(this.o.candidatePenalty, ms(t0));
    }
    timings.total = ms(t0);

    const m = this.o.metrics;
    if (!cached) {
      m.stage.observe({ side: sideName, stage: 'encode' }, timings.encode / 1000);
      m.stage.observe({ side: sideName, stage: 'search' }, timings.search / 1000);
      m.stage.observe({ side: sideName, stage: 'rerank' }, timings.rerank / 1000);
    }
    m.stage.observe({ side: sideName, stage: 'total' }, timings.total / 1000);
    if (countAsSample) {
      m.requests.inc({ side: sideName, outcome: 'ok' });
      this.o.kpis.record({
        side: sideName,
        configHash,
        latencyMs: timings.total,
        error: false,
        topCosine: answer.topCosine,
        rerankAccepted: answer.rerankAccepted,
        nearDupShare: answer.nearDupShare,
        diversityTop5: answer.diversityTop5,
        cached,
      });
      // At 100 % the candidate serves everyone: its mirror (the bakeoff's concurrent baseline, issue 11) runs off its answers.
      const fullStage = p.canaryPercent >= 100 && p.mirrorTable === p.candidateTable;
      if ((sideName === 'baseline' || fullStage) && fallback === null) this.maybeMirror(state, req, answer);
    }
    return {
      lane: this.o.lane,
      pointerVersion: p.version,
      canaryPercent: p.canaryPercent,
      side: sideName,
      routedSide: routed,
      fallback,
      table: side.spec.table,
      configHash,
      vectorSource: side.vectorSource,
      rerank: answer.rerank,
      cached,
      timingsMs: timings,
      results: answer.rows.slice(0, req.k).map((r) => ({ ...r, side: sideName })),
    };
  }

  /** Schedules the mirror target's answer to this request, if the pointer mirrors it and a slot is free. */
  private maybeMirror(state: ServingState, req: SearchRequest, served: CachedAnswer): void {
    const p = state.pointer;
    if (!p.mirrorTable || !(p.mirrorPercent! > 0)) return;
    // Salted so the mirrored share is independent of who is in the canary.
    if (routeSide(`mirror\u0000${req.key ?? req.query}`, p.mirrorPercent!, true) !== 'candidate') return;
    const hash = p.mirrorConfigHash ?? null;
    const started = this.mirrorGate.tryRun(() => this.runMirror(state, req, served));
    if (!started) this.o.kpis.recordMirrorDropped(hash);
  }

  private async runMirror(state: ServingState, req: SearchRequest, served: CachedAnswer): Promise<void> {
    const p = state.pointer;
    const hash = p.mirrorConfigHash ?? null;
    const kpis = this.o.kpis;
    const baseline = async (): Promise<void> => {
      const tb = process.hrtime.bigint();
      try {
        const base = state.baseline;
        const { value: result, outcome } = await withRerankOutcome(() => coldEncoding(() => base.retriever.retrieve(req.query)));
        const rerank = base.reranker === null ? 'none' : outcome.ran ? 'applied' : `skipped (${outcome.fallback ?? 'empty snapshot'})`;
        await this.backendWait();
        kpis.record({ ...liveSample(this.toAnswer(result, base, rerank), ms(tb), false, p.liveConfigHash), traffic: 'mirror' });
      } catch (err) {
        this.o.log?.(`mirror job: baseline search failed: ${(err as Error).message}`);
        kpis.record({ ...errorSample('baseline', p.liveConfigHash, ms(tb)), traffic: 'mirror' });
      }
    };
    const target = async (): Promise<void> => {
      const t0 = process.hrtime.bigint();
      if (!state.mirror) {
        kpis.record({ ...errorSample('candidate', hash, 0), traffic: 'mirror' });
        kpis.recordMirrorError(hash);
        return;
      }
      try {
        const side = state.mirror;
        const { value: result, outcome } = await withRerankOutcome(() => coldEncoding(() => side.retriever.retrieve(req.query)));
        const rerank = side.reranker === null ? 'none' : outcome.ran ? 'applied' : `skipped (${outcome.fallback ?? 'empty snapshot'})`;
        const answer = this.toAnswer(result, side, rerank);
        await this.backendWait();
        if (isActive(this.o.candidatePenalty)) await waitPenalty(this.o.candidatePenalty, ms(t0));
        kpis.record({ ...liveSample(answer, ms(t0), false, hash), side: 'candidate', traffic: 'mirror' });
        kpis.recordComparison(compareAnswers(served.rows.map((r) => r.doc_id), answer.rows.map((r) => r.doc_id)), hash);
      } catch (err) {
        this.o.log?.(`mirror search failed (nothing served from it): ${(err as Error).message}`);
        kpis.record({ ...errorSample('candidate', hash, ms(t0)), traffic: 'mirror' });
        kpis.recordMirrorError(hash);
      }
    };
    // Both sides cold (coldEncoding: neither reads the query-embedding cache the served request just
    // filled), and the order alternates so neither side always runs on the warmer CPU caches.
    if ((this.mirrorJobs++ & 1) === 0) {
      await baseline();
      await target();
    } else {
      await target();
      await baseline();
    }
  }

  private toAnswer(r: RetrievalResult, side: ServingSide, rerank: string): CachedAnswer {
    const top: Candidate | undefined = r.passed[0];
    return {
      rows: r.passed.map((c, i) => ({
        rank: i + 1,
        chunk_id: c.chunk_id,
        doc_id: c.doc_id,
        chunk_index: c.chunk_index,
        text: c.text,
        cosine: c.cosine,
        rrf_score: c.rrfScore,
        rerank_score: c.rerankScore,
        ingest_run_id: c.ingest_run_id,
        chunk_version: c.chunk_version,
        config_hash: c.config_hash,
      })),
      rerank,
      topCosine: top ? top.cosine : null,
      rerankAccepted: side.reranker === null ? null : rerank === 'applied' && top !== undefined && (top.rerankScore ?? 0) >= this.rerankAcceptScore,
      nearDupShare: nearDuplicateShare(r.snapshot.slice(0, 50).map((c) => c.embedding), this.nearDupCosine),
      diversityTop5: pairwiseDiversity(r.passed.slice(0, 5).map((c) => c.embedding)),
    };
  }

  /** Drops every cached answer and row (after a cache-epoch bump: rollback, promotion). */
  clearCaches(state: ServingState | null): void {
    this.results.clear();
    for (const side of [state?.baseline, state?.candidate]) {
      side?.store.clear();
      side?.reranker?.service.clearCache();
    }
  }
}

function liveSample(a: CachedAnswer, latencyMs: number, cached: boolean, configHash: string | null): KpiSample {
  return {
    side: 'baseline', configHash, latencyMs, error: false, topCosine: a.topCosine, rerankAccepted: a.rerankAccepted,
    nearDupShare: a.nearDupShare, diversityTop5: a.diversityTop5, cached,
  };
}

function errorSample(side: Side, configHash: string | null, latencyMs: number): KpiSample {
  return { side, configHash, latencyMs, error: true, topCosine: null, rerankAccepted: null, nearDupShare: null, diversityTop5: null, cached: false };
}
