// RerankerService: what retrieval and the HTTP service call instead of a Reranker directly. It adds
// an LRU cache (a repeated query over the same snapshot costs nothing), batching (requests that
// arrive together go to the model in one call), a token-bucket rate limit (protects the model under
// bursts; callers get a retry-after), a JSONL audit trail (what was reranked, by which model, how
// fast) and stats for /health (avg/p95/p99 latency, cache hit rate).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { mean, percentile } from './metrics';
import type { Reranker } from './rerank';
import type { Candidate, SnapshotReranker } from './retrieve';
import type { FeatureCandidate } from './rerank-features';
import { formatZodIssues } from '../platform/zod-issues';

export const RerankerServiceOptionsSchema = z.strictObject({
  /** Cached snapshot scorings (LRU). 0 disables the cache. */
  cacheSize: z.number().int().min(0).max(1_000_000).default(2048),
  /** Most requests handed to the model in one call. */
  maxBatch: z.number().int().min(1).max(1024).default(16),
  /** How long a request may wait for others to share its batch (0: only those queued in the same tick). */
  batchWindowMs: z.number().min(0).max(1000).default(0),
  /** Token bucket; null switches the limit off. */
  rateLimit: z
    .strictObject({ perSecond: z.number().positive(), burst: z.number().int().min(1) })
    .nullable()
    .default({ perSecond: 500, burst: 1000 }),
  /** Append one JSON line per request here (created with its directory); absent: no audit trail. */
  auditFile: z.string().min(1).optional(),
  /** Latencies kept for the percentiles (a ring buffer). */
  latencyWindow: z.number().int().min(1).max(1_000_000).default(4096),
});
export type RerankerServiceOptions = z.input<typeof RerankerServiceOptionsSchema>;

export class RerankRateLimitError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`reranker rate limit exceeded; retry after ${Math.ceil(retryAfterMs)} ms`);
    this.name = 'RerankRateLimitError';
  }
}

export interface RerankerStats {
  model: string;
  requests: number;
  cacheHits: number;
  cacheHitRate: number;
  rateLimited: number;
  errors: number;
  batches: number;
  avgBatchSize: number;
  latencyMs: { avg: number; p95: number; p99: number; samples: number };
  auditFile: string | null;
}

interface Pending {
  key: string;
  query: string;
  candidates: readonly FeatureCandidate[];
  resolve: (scores: number[]) => void;
  reject: (err: unknown) => void;
}

type ServiceCandidate = FeatureCandidate & Partial<Pick<Candidate, 'chunk_id'>>;

export class RerankerService implements SnapshotReranker {
  private readonly opts: z.output<typeof RerankerServiceOptionsSchema>;
  private readonly cache = new Map<string, number[]>();
  private queue: Pending[] = [];
  private flushScheduled = false;
  private tokens: number;
  private lastRefill: number;
  private readonly latencies: number[] = [];
  private latencyNext = 0;
  private audit: fs.WriteStream | null = null;
  private counters = { requests: 0, cacheHits: 0, rateLimited: 0, errors: 0, batches: 0, batchedRequests: 0 };

  constructor(
    private readonly reranker: Reranker,
    options: RerankerServiceOptions = {},
    /** Clock for the rate limit (tests pass their own). */
    private readonly now: () => number = () => performance.now(),
  ) {
    const parsed = RerankerServiceOptionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`invalid reranker service options: ${formatZodIssues(parsed.error, { root: '(options)', separator: '; ' })}`);
    this.opts = parsed.data;
    this.tokens = this.opts.rateLimit?.burst ?? 0;
    this.lastRefill = this.now();
    if (this.opts.auditFile) {
      fs.mkdirSync(path.dirname(this.opts.auditFile), { recursive: true });
      this.audit = fs.createWriteStream(this.opts.auditFile, { flags: 'a' });
    }
  }

  get id(): string {
    return this.reranker.id;
  }

  /** Scores for the snapshot's candidates, in the order given. */
  async rerank(query: string, snapshot: readonly ServiceCandidate[]): Promise<number[]> {
    const t0 = performance.now();
    this.counters.requests++;
    this.takeToken();
    const key = this.keyOf(query, snapshot);
    const cached = this.opts.cacheSize > 0 ? this.cache.get(key) : undefined;
    let scores: number[];
    let hit = false;
    if (cached) {
      // Refresh recency: a Map iterates in insertion order, so re-inserting moves it to the back.
      this.cache.delete(key);
      this.cache.set(key, cached);
      this.counters.cacheHits++;
      scores = [...cached];
      hit = true;
    } else {
      try {
        scores = await new Promise<number[]>((resolve, reject) => {
          this.queue.push({ key, query, candidates: snapshot, resolve, reject });
          this.scheduleFlush();
        });
      } catch (err) {
        this.counters.errors++;
        throw err;
      }
      this.remember(key, scores);
    }
    const latency = performance.now() - t0;
    this.recordLatency(latency);
    this.writeAudit(query, snapshot, scores, hit, latency);
    return scores;
  }

  stats(): RerankerStats {
    const c = this.counters;
    return {
      model: this.reranker.id,
      requests: c.requests,
      cacheHits: c.cacheHits,
      cacheHitRate: c.requests - c.rateLimited > 0 ? c.cacheHits / (c.requests - c.rateLimited) : 0,
      rateLimited: c.rateLimited,
      errors: c.errors,
      batches: c.batches,
      avgBatchSize: c.batches > 0 ? c.batchedRequests / c.batches : 0,
      latencyMs: {
        avg: mean(this.latencies),
        p95: percentile(this.latencies, 0.95),
        p99: percentile(this.latencies, 0.99),
        samples: this.latencies.length,
      },
      auditFile: this.opts.auditFile ?? null,
    };
  }

  /** Forget every cached scoring (after a rollback or a new ingest of the same table). */
  clearCache(): void {
    this.cache.clear();
  }

  /** Flushes and closes the audit trail. */
  async close(): Promise<void> {
    const a = this.audit;
    this.audit = null;
    if (a) await new Promise<void>((resolve, reject) => a.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }

  private keyOf(query: string, snapshot: readonly ServiceCandidate[]): string {
    const h = createHash('sha1').update(this.reranker.id).update('\0').update(query);
    // Chunk ids name the rows; without them (ad-hoc candidates) the text and signals stand in.
    for (const c of snapshot) h.update('\0').update(c.chunk_id ?? `${c.doc_id}|${c.chunk_index}|${c.fusedRank}|${c.text}`);
    return h.digest('hex');
  }

  private takeToken(): void {
    const limit = this.opts.rateLimit;
    if (!limit) return;
    const t = this.now();
    this.tokens = Math.min(limit.burst, this.tokens + ((t - this.lastRefill) / 1000) * limit.perSecond);
    this.lastRefill = t;
    if (this.tokens < 1) {
      this.counters.rateLimited++;
      throw new RerankRateLimitError(((1 - this.tokens) / limit.perSecond) * 1000);
    }
    this.tokens -= 1;
  }

  private scheduleFlush(): void {
    if (this.queue.length >= this.opts.maxBatch) {
      this.flush();
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const run = () => {
      this.flushScheduled = false;
      this.flush();
    };
    if (this.opts.batchWindowMs > 0) setTimeout(run, this.opts.batchWindowMs);
    else setImmediate(run);
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.counters.batches++;
      this.counters.batchedRequests += batch.length;
      this.reranker.scoreBatch(batch.map((p) => ({ query: p.query, candidates: p.candidates }))).then(
        (scores) => {
          batch.forEach((p, i) => {
            const s = scores[i];
            if (!s || s.length !== p.candidates.length) p.reject(new Error(`reranker ${this.reranker.id} returned ${s?.length ?? 0} scores for ${p.candidates.length} candidates`));
            else p.resolve(s);
          });
        },
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      );
    }
  }

  private remember(key: string, scores: number[]): void {
    if (this.opts.cacheSize === 0) return;
    this.cache.set(key, [...scores]);
    while (this.cache.size > this.opts.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
  }

  private recordLatency(ms: number): void {
    if (this.latencies.length < this.opts.latencyWindow) this.latencies.push(ms);
    else this.latencies[this.latencyNext] = ms;
    this.latencyNext = (this.latencyNext + 1) % this.opts.latencyWindow;
  }

  private writeAudit(query: string, snapshot: readonly ServiceCandidate[], scores: number[], cacheHit: boolean, latencyMs: number): void {
    if (!this.audit) return;
    const top = scores
      .map((s, i) => ({ i, s }))
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, 5)
      .map(({ i, s }) => ({ chunk_id: snapshot[i].chunk_id ?? null, doc_id: snapshot[i].doc_id, score: Number(s.toFixed(6)) }));
    this.audit.write(
      JSON.stringify({
        ts: new Date().toISOString(),
        model: this.reranker.id,
        query_sha256: createHash('sha256').update(query).digest('hex'),
        candidates: snapshot.length,
        cache_hit: cacheHit,
        latency_ms: Number(latencyMs.toFixed(3)),
        top,
      }) + '\n',
    );
  }
}
