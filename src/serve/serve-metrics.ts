// The service's Prometheus metrics, on a registry of its own (several services can live in one
// process, e.g. in tests). Latencies are in seconds, as Prometheus expects.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** 0.25 ms … 5 s: routing is microseconds, a cold query on a loaded machine can take a second. */
const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const ROUTING_BUCKETS = [0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.001];

export type CacheName = 'embedding' | 'rows' | 'result';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'side' | 'outcome'>;
  readonly errors: Counter<'side' | 'kind'>;
  readonly responses: Counter<'route' | 'status'>;
  readonly stage: Histogram<'side' | 'stage'>;
  readonly http: Histogram<'route'>;
  readonly routing: Histogram<string>;
  readonly canaryPercent: Gauge<'lane'>;
  readonly pointerVersion: Gauge<'lane'>;
  readonly cacheLookups: Counter<'cache' | 'result'>;
  readonly inFlight: Gauge<string>;
  private readonly cacheCounts: Record<CacheName, { hit: number; miss: number }> = {
    embedding: { hit: 0, miss: 0 },
    rows: { hit: 0, miss: 0 },
    result: { hit: 0, miss: 0 },
  };

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'bakeoff_serve_requests_total', help: 'Search requests by the side that was routed to and outcome (ok, error, fallback).', labelNames: ['side', 'outcome'], registers });
    this.errors = new Counter({ name: 'bakeoff_serve_errors_total', help: 'Failed search requests by side and kind.', labelNames: ['side', 'kind'], registers });
    this.responses = new Counter({ name: 'bakeoff_serve_http_responses_total', help: 'HTTP responses by route and status code.', labelNames: ['route', 'status'], registers });
    this.stage = new Histogram({ name: 'bakeoff_serve_stage_duration_seconds', help: 'Search latency by side and stage (encode, search, rerank, total = end to end inside the service).', labelNames: ['side', 'stage'], buckets: LATENCY_BUCKETS, registers });
    this.http = new Histogram({ name: 'bakeoff_serve_http_request_duration_seconds', help: 'Whole HTTP request time (body read, validation, search, JSON) by route.', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers });
    this.routing = new Histogram({ name: 'bakeoff_serve_routing_duration_seconds', help: 'Time to snapshot the pointer and pick a side for a request.', buckets: ROUTING_BUCKETS, registers });
    this.canaryPercent = new Gauge({ name: 'bakeoff_serve_canary_percent', help: 'Share of traffic the serving pointer sends to the candidate (0-100).', labelNames: ['lane'], registers });
    this.pointerVersion = new Gauge({ name: 'bakeoff_serve_pointer_version', help: 'Version of the pointer row being served.', labelNames: ['lane'], registers });
    this.cacheLookups = new Counter({ name: 'bakeoff_serve_cache_lookups_total', help: 'Cache lookups by cache (embedding, rows, result) and result (hit, miss).', labelNames: ['cache', 'result'], registers });
    this.inFlight = new Gauge({ name: 'bakeoff_serve_in_flight_requests', help: 'Search requests being served right now.', registers });
    const counts = this.cacheCounts;
    new Gauge({
      name: 'bakeoff_serve_cache_hit_ratio',
      help: 'Hits / lookups since start, by cache.',
      labelNames: ['cache'],
      registers,
      collect() {
        for (const [cache, c] of Object.entries(counts)) this.set({ cache }, c.hit + c.miss === 0 ? 0 : c.hit / (c.hit + c.miss));
      },
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'bakeoff_serve_' });
  }

  cache(cache: CacheName, hits: number, misses: number): void {
    if (hits > 0) this.cacheLookups.inc({ cache, result: 'hit' }, hits);
    if (misses > 0) this.cacheLookups.inc({ cache, result: 'miss' }, misses);
    this.cacheCounts[cache].hit += hits;
    this.cacheCounts[cache].miss += misses;
  }

  cacheHitRatio(cache: CacheName): number {
    const c = this.cacheCounts[cache];
    return c.hit + c.miss === 0 ? 0 : c.hit / (c.hit + c.miss);
  }
}
