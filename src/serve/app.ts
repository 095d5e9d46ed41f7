// Assembles the serving path of one lane — pointer watcher, side cache, encoders, search pipeline,
// live-KPI recorder, metrics, HTTP server — and tears it down in the right order. main.ts, the tests,
// the demo and the load bench all start the service through startServing().
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIVE_KPIS_DDL } from '../store/live-kpis';
import { MIRROR_COMPARISONS_DDL } from '../store/mirror-comparisons';
import { POINTER_DDL } from '../store/pointer';
import type { Db, Queryable } from '../platform/db';
import { repoRoot, stateDir } from '../platform/paths';
import { Embedder } from '../rag/embed';
import type { RerankerServiceOptions, RerankerStats } from '../rag/rerank-service';
import type { PointerState } from '../activities/types';
import type { RetrievalOptionsInput } from '../rag/retrieve';
import { EncoderPool, type QueryModel } from './caching-encoder';
import { ServeHttpServer, type HttpServerOptions } from './http-server';
import type { BackendLatency, LatencyPenalty } from './latency-penalty';
import { LiveKpiRecorder, type LiveKpiStatus } from './live-kpis';
import { PointerWatcher, SideCache, type ServingState, type WatcherStatus } from './pointer-watcher';
import { SearchService } from './search-service';
import { ServeMetrics } from './serve-metrics';
import type { ServingSide } from './serving-side';
import type { ArtifactStore } from '../store/artifacts';

export interface ServeOptions {
  db: Db;
  /**
   * Where the pointer is polled. On PostgreSQL give it a connection of its own (openDb with
   * poolSize 1): on the shared pool a poll queues behind every search's queries, and under load a
   * flip would then be noticed seconds late. Default: db.
   */
  pointerDb?: Queryable;
  lane: string;
  /** Quality-proxy threshold (see quality-tau.ts for how it is calibrated). */
  tau: number;
  /** FAISS indexes and rerankers, laid out as the data plane writes them. Default <stateDir>/indexes. */
  indexDir?: string;
  loadEmbedder?: (name: string) => Promise<QueryModel>;
  pollMs?: number;
  kpiWindowMs?: number;
  retrieval?: RetrievalOptionsInput;
  reranker?: RerankerServiceOptions;
  rerank?: boolean;
  nearDupCosine?: number;
  rerankAcceptScore?: number;
  /** The shared artifact store (PostgreSQL): sides load indexes published by hash (see SideLoaderDeps.artifacts). */
  artifacts?: ArtifactStore;
  /** See SideLoaderDeps.decorate (fault injection). */
  decorateSide?: (side: ServingSide) => ServingSide;
  /** Drill/test knob, off by default: a latency penalty on the candidate's searches (latency-penalty.ts). */
  candidatePenalty?: LatencyPenalty;
  /** Drill/test knob, off by default: a simulated backend wait on every search, both sides (latency-penalty.ts). */
  backendLatency?: BackendLatency;
  /** Shadow traffic: mirror jobs allowed at once (default 2) and per second (default 5); more are dropped and counted. */
  mirrorConcurrency?: number;
  mirrorPerSecond?: number;
  caches?: { embedding?: number; rows?: number; results?: number };
  /** The HTTP server's limits (see HttpServerOptions), plus where to listen. */
  http?: Omit<HttpServerOptions, 'health' | 'log'> & { port?: number; host?: string };
  /** /health answers 503 when `SELECT 1` takes longer than this (default 2 s). */
  healthDbTimeoutMs?: number;
  /** Process-level metrics (CPU, heap, event-loop lag); off in tests that start many services. */
  defaultMetrics?: boolean;
  log?: (line: string) => void;
}

export interface RunningService {
  url: string;
  service: SearchService;
  http: ServeHttpServer;
  watcher: PointerWatcher;
  kpis: LiveKpiRecorder;
  metrics: ServeMetrics;
  /** Graceful: stop accepting, drain, write the last KPI window, stop polling. Does not close the db. */
  close(graceMs?: number): Promise<void>;
}

export const SERVICE_VERSION: string = (() => {
  try {
    return (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

export async function startServing(o: ServeOptions): Promise<RunningService> {
  await o.db.exec(POINTER_DDL);
  await o.db.exec(LIVE_KPIS_DDL);
  await o.db.exec(MIRROR_COMPARISONS_DDL);
  const metrics = new ServeMetrics({ defaultMetrics: o.defaultMetrics });
  const encoders = new EncoderPool(o.loadEmbedder ?? ((name) => Embedder.load(name)), o.caches?.embedding ?? 4096, (hit) =>
    metrics.cache('embedding', hit ? 1 : 0, hit ? 0 : 1),
  );
  const sides = new SideCache({
    db: o.db,
    indexDir: o.indexDir ?? path.join(stateDir, 'indexes'),
    encoderFor: (name, side) => encoders.encoderFor(name, side),
    retrieval: { passK: 12, ...o.retrieval },
    reranker: { rateLimit: { perSecond: 2000, burst: 4000 }, ...o.reranker },
    rerank: o.rerank,
    rowCacheSize: o.caches?.rows ?? 20_000,
    onRowLookup: (hits, misses) => metrics.cache('rows', hits, misses),
    decorate: o.decorateSide,
    artifacts: o.artifacts,
  });
  const kpis = new LiveKpiRecorder({ db: o.db, lane: o.lane, tau: o.tau, windowMs: o.kpiWindowMs, log: o.log });
  let service: SearchService | null = null;
  const watcher = new PointerWatcher({
    db: o.pointerDb ?? o.db,
    lane: o.lane,
    sides,
    pollMs: o.pollMs,
    log: o.log,
    onApply: (next, prev) => {
      metrics.canaryPercent.set({ lane: o.lane }, next.pointer.canaryPercent);
      metrics.pointerVersion.set({ lane: o.lane }, next.pointer.version);
      if (prev && prev.pointer.cacheEpoch !== next.pointer.cacheEpoch) {
        service?.clearCaches(prev);
        service?.clearCaches(next);
        void encoders.clear();
      }
    },
  });
  service = new SearchService({
    lane: o.lane,
    watcher,
    kpis,
    metrics,
    resultCacheSize: o.caches?.results ?? 4096,
    nearDupCosine: o.nearDupCosine,
    rerankAcceptScore: o.rerankAcceptScore,
    candidatePenalty: o.candidatePenalty,
    backendLatency: o.backendLatency,
    mirrorConcurrency: o.mirrorConcurrency,
    mirrorPerSecond: o.mirrorPerSecond,
    log: o.log,
  });
  const startedAt = Date.now();
  const http = new ServeHttpServer(service, metrics, {
    maxBodyBytes: o.http?.maxBodyBytes,
    rateLimit: o.http?.rateLimit,
    maxInFlight: o.http?.maxInFlight,
    headersTimeoutMs: o.http?.headersTimeoutMs,
    requestTimeoutMs: o.http?.requestTimeoutMs,
    bodyTimeoutMs: o.http?.bodyTimeoutMs,
    log: o.log,
    health: () => healthDocument({ db: o.db, lane: o.lane, watcher, kpis, metrics, startedAt, dbTimeoutMs: o.healthDbTimeoutMs ?? 2_000, log: o.log }),
  });
  // The first poll loads the sides before the port opens (a lane without a pointer still starts: /health says why).
  await watcher.start();
  kpis.start();
  await http.listen(o.http?.port ?? 0, o.http?.host ?? '127.0.0.1');
  const svc = service;
  return {
    url: http.url,
    service: svc,
    http,
    watcher,
    kpis,
    metrics,
    async close(graceMs = 5000) {
      await http.close(graceMs);
      await watcher.stop();
      await svc.mirrorGate.drain(); // mirror work of the last requests lands in the last window
      await kpis.stop();
      for (const side of await sides.loaded()) await side.reranker?.service.close();
    },
  };
}

export interface SideHealth {
  status: 'ready';
  table: string;
  index: string | null;
  vectorSource: string;
  embedder: string;
  rows: number;
  fingerprints: ServingSide['fingerprints'];
  loadedAt: string;
  loadMs: number;
}

export interface RerankHealth {
  status: string;
  model: string | null;
  /** sha256 of the published reranker the side serves (trained with its index build); null: a local or no model. */
  sha256: string | null;
  fallbacks: number;
  lastError: string | null;
  stats: RerankerStats | null;
}

export interface IngestHealth {
  ingestRunIds: string[];
  runs: { ingest_run_id: string; status: string; chunks_written: number; updated_at: string }[] | null;
  note?: string;
}

/** GET /health. */
export interface HealthBody {
  status: 'ok' | 'degraded' | 'starting';
  version: string;
  /** The store the searches read rows from; unreachable → 503 (the detail is in the service log). */
  database: { reachable: boolean; ms: number; error?: string };
  lane: string;
  uptimeS: number;
  pointer: PointerState | null;
  watcher: WatcherStatus;
  ingest: { baseline?: IngestHealth; candidate?: IngestHealth } | null;
  search: { baseline: SideHealth; candidate: SideHealth | { status: 'failed'; error: string } | { status: 'none' } } | null;
  rerank: { baseline: RerankHealth; candidate: RerankHealth | null } | null;
  caches: { embeddingHitRatio: number; rowsHitRatio: number; resultHitRatio: number };
  kpis: LiveKpiStatus;
}

interface HealthDeps {
  db: Db;
  lane: string;
  watcher: PointerWatcher;
  kpis: LiveKpiRecorder;
  metrics: ServeMetrics;
  startedAt: number;
  dbTimeoutMs: number;
  log?: (line: string) => void;
}

/** `SELECT 1` within timeoutMs; a failure is named by its kind only (driver text goes to the log). */
async function pingDatabase(db: Db, timeoutMs: number, log?: (line: string) => void): Promise<HealthBody['database']> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'TIMEOUT' })), timeoutMs);
      }),
    ]);
    return { reachable: true, ms: Date.now() - t0 };
  } catch (err) {
    log?.(`health: database unreachable: ${(err as Error).message}`);
    const code = (err as { code?: unknown }).code;
    return { reachable: false, ms: Date.now() - t0, error: typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

async function healthDocument(d: HealthDeps): Promise<{ ready: boolean; body: HealthBody }> {
  const state = d.watcher.current();
  const watcher = d.watcher.status();
  const database = await pingDatabase(d.db, d.dbTimeoutMs, d.log);
  const ingest = state && database.reachable ? await ingestStatus(d.db, state) : null;
  const status: HealthBody['status'] = !state ? 'starting' : state.candidateError || watcher.lastError || !database.reachable ? 'degraded' : 'ok';
  return {
    // Cached rows may still answer some searches, but a service without its store is not ready.
    ready: state !== null && database.reachable,
    body: {
      status,
      version: SERVICE_VERSION,
      database,
      lane: d.lane,
      uptimeS: Math.round((Date.now() - d.startedAt) / 1000),
      pointer: state?.pointer ?? null,
      watcher,
      ingest,
      search: state
        ? {
            baseline: sideHealth(state.baseline),
            candidate: state.candidate
              ? sideHealth(state.candidate)
              : state.candidateError
                ? { status: 'failed' as const, error: state.candidateError }
                : { status: 'none' as const },
          }
        : null,
      rerank: state
        ? {
            baseline: rerankHealth(state.baseline),
            candidate: state.candidate ? rerankHealth(state.candidate) : null,
          }
        : null,
      caches: {
        embeddingHitRatio: d.metrics.cacheHitRatio('embedding'),
        rowsHitRatio: d.metrics.cacheHitRatio('rows'),
        resultHitRatio: d.metrics.cacheHitRatio('result'),
      },
      kpis: d.kpis.status(),
    },
  };
}

function sideHealth(s: ServingSide): SideHealth {
  return {
    status: 'ready',
    table: s.spec.table,
    index: s.indexDir,
    vectorSource: s.vectorSource,
    embedder: s.encoder.model.modelId,
    rows: s.rows,
    fingerprints: s.fingerprints,
    loadedAt: s.loadedAt,
    loadMs: Math.round(s.loadMs),
  };
}

function rerankHealth(s: ServingSide): RerankHealth {
  return {
    status: s.rerankerStatus,
    model: s.reranker?.id ?? null,
    sha256: s.rerankerSha256,
    fallbacks: s.reranker?.fallbacks ?? 0,
    lastError: s.reranker?.lastError ?? null,
    stats: s.reranker?.service.stats() ?? null,
  };
}

/** The ingest runs behind the served tables (ingest_runs may not exist where tables were made otherwise). */
async function ingestStatus(db: Db, state: ServingState): Promise<NonNullable<HealthBody['ingest']>> {
  const out: NonNullable<HealthBody['ingest']> = {};
  for (const [name, side] of [['baseline', state.baseline], ['candidate', state.candidate]] as const) {
    if (!side) continue;
    const ids = side.fingerprints.map((f) => f.ingest_run_id);
    try {
      const r = await db.query<{ ingest_run_id: string; status: string; chunks_written: number; updated_at: Date | string }>(
        `SELECT ingest_run_id, status, chunks_written, updated_at FROM ingest_runs WHERE ingest_run_id = ANY($1::text[])`,
        [ids],
      );
      out[name] = { ingestRunIds: ids, runs: r.rows.map((x) => ({ ...x, updated_at: new Date(x.updated_at).toISOString() })) };
    } catch (err) {
      out[name] = { ingestRunIds: ids, runs: null, note: `ingest_runs unreadable: ${(err as Error).message}` };
    }
  }
  return out;
}
