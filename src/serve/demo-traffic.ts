// Traffic for demos and CI dry runs (issue 14, item 3): starts the real retrieval service in-process
// on the caller's store and keeps the replayer sending queries at it until stop(), so a shadow stage
// (the pointer's mirror) sees real mirrored requests. The service must share the worker's store: in
// one process that is the same Db object (the demo's PGlite); across processes only PostgreSQL can be
// shared (PGlite is one process only), so `bakeoff dry-run --traffic` needs DATABASE_URL.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { Db } from '../platform/db';
import { stateDir } from '../platform/paths';
import type { EvalCase } from '../data/dataset';
import { startServing, type RunningService } from './app';
import type { QueryModel } from './caching-encoder';
import { laneTau } from './calibrate-lane';
import { replayTraffic } from './traffic';

/** `eval-questions` (the dataset's questions) or a JSONL file of {"query": "…"} objects or JSON strings. */
export type TrafficSource = string;

const QueryLineSchema = z.union([z.string().trim().min(1), z.strictObject({ query: z.string().trim().min(1) }).transform((o) => o.query)]);

/** The queries a source names; a bad file is one line naming file:line. */
export function loadTrafficQueries(source: TrafficSource, evalQuestions: () => string[]): string[] {
  if (source === 'eval-questions') {
    const qs = evalQuestions();
    if (qs.length === 0) throw new Error('--traffic eval-questions: the dataset has no questions');
    return qs;
  }
  if (!source.endsWith('.jsonl')) throw new Error(`--traffic ${JSON.stringify(source)}: give eval-questions or a .jsonl file`);
  let text: string;
  try {
    text = fs.readFileSync(source, 'utf8');
  } catch (err) {
    throw new Error(`--traffic ${source}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line) as unknown;
    } catch {
      throw new Error(`${source}:${i + 1}: not JSON`);
    }
    const parsed = QueryLineSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`${source}:${i + 1}: expected {"query": "…"} or a non-empty JSON string`);
    out.push(parsed.data);
  });
  if (out.length === 0) throw new Error(`${source}: no queries`);
  return out;
}

export interface DemoTrafficOptions {
  db: Db;
  lane: string;
  queries: string[];
  loadEmbedder: (name: string) => Promise<QueryModel>;
  trainCases: () => Promise<EvalCase[]>;
  indexDir?: string;
  /** Where τ is stored (default <stateDir>/serve/quality-tau.json, what `bakeoff-serve` uses). */
  tauFile?: string;
  /** Requests per second offered (default 10). */
  ratePerSecond?: number;
  log?: (line: string) => void;
}

export interface DemoTraffic {
  url: string;
  service: RunningService;
  /** Stops the replayer, then the service (its last KPI window is written). */
  stop(): Promise<{ sent: number; ok: number; failed: number }>;
}

export async function startDemoTraffic(o: DemoTrafficOptions): Promise<DemoTraffic> {
  const indexDir = o.indexDir ?? path.join(stateDir, 'indexes');
  const tau = await laneTau({
    db: o.db, lane: o.lane, indexDir, file: o.tauFile ?? path.join(stateDir, 'serve', 'quality-tau.json'),
    loadEmbedder: o.loadEmbedder, trainCases: o.trainCases, log: o.log,
  });
  const service = await startServing({ db: o.db, lane: o.lane, tau: tau.tau, indexDir, loadEmbedder: o.loadEmbedder, defaultMetrics: false, kpiWindowMs: 2000, log: o.log });
  const totals = { sent: 0, ok: 0, failed: 0 };
  let stopped = false;
  const loop = (async () => {
    // Short rounds so stop() is prompt; each round a new seed (new user keys).
    for (let round = 1; !stopped; round++) {
      const r = await replayTraffic({ url: service.url, questions: o.queries, ratePerSecond: o.ratePerSecond ?? 10, maxRequests: 10_000_000, maxDurationMs: 2000, users: 1000, seed: round });
      totals.sent += r.sent;
      totals.ok += r.ok;
      totals.failed += r.failed;
    }
  })();
  loop.catch(() => undefined); // surfaced by stop(); never an unhandled rejection meanwhile
  o.log?.(`traffic: ${o.queries.length} queries at ${o.ratePerSecond ?? 10}/s against the service on ${service.url} (lane '${o.lane}')`);
  return {
    url: service.url,
    service,
    async stop() {
      stopped = true;
      await loop;
      await service.close();
      return { ...totals };
    },
  };
}
