// Live traffic for the canary: replays the evaluation questions (and repeats of them, verbatim — no
// paraphrases) against a running service at a chosen rate, with sticky user keys, so every canary
// stage sees real requests on both sides. Open loop: request i is sent at start + i/rate whatever
// the answers do, up to `concurrency` in flight (beyond that a request is dropped and counted, so a
// slow service cannot quietly lower the offered rate). Bounded by a request count and a duration;
// loopback targets only — this is a test and demo tool, not a load weapon.
import * as http from 'node:http';
import { z } from 'zod';
import { loadDataset, subsetForTests, type Split } from '../data/dataset';
import { percentile, seededRandom } from '../rag/metrics';
import type { SearchResponse } from './search-service';
import { formatZodIssues } from '../platform/zod-issues';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export const TrafficOptionsSchema = z.strictObject({
  url: z
    .url({ error: 'url must be an http URL such as http://127.0.0.1:8088' })
    .refine((u) => new URL(u).protocol === 'http:', { error: 'url must use http:' })
    .refine((u) => LOOPBACK_HOSTS.has(new URL(u).hostname), { error: 'url must point at loopback (127.0.0.1, ::1 or localhost)' }),
  questions: z.array(z.string().min(1)).min(1, { error: 'give at least one question' }),
  ratePerSecond: z.number().positive().max(10_000),
  maxRequests: z.int().min(1).max(10_000_000),
  maxDurationMs: z.int().min(1).max(7 * 24 * 3600 * 1000),
  concurrency: z.int().min(1).max(1024).default(32),
  /** Distinct sticky keys ("user-0" … "user-(n-1)"), drawn at random per request. */
  users: z.int().min(1).max(10_000_000).default(1000),
  seed: z.int().default(1),
  k: z.int().min(1).max(12).optional(),
  timeoutMs: z.int().min(1).max(600_000).default(10_000),
});
export type TrafficOptions = z.input<typeof TrafficOptionsSchema>;

export interface TrafficReport {
  sent: number;
  ok: number;
  failed: number;
  /** Not sent: `concurrency` requests were already in flight when its turn came. */
  dropped: number;
  statusCounts: Record<string, number>;
  bySide: { baseline: number; candidate: number };
  fallbacks: number;
  /** 200 answers whose rows disagree with the side that answered (fingerprint or side label). */
  mixed: number;
  pointerVersions: Record<string, number>;
  durationMs: number;
  achievedRps: number;
  latencyMs: { p50: number; p95: number; p99: number };
}

export interface TrafficEvent {
  index: number;
  key: string;
  question: string;
  status: number;
  latencyMs: number;
  body: SearchResponse | { error: string; message: string } | null;
  sentAt: number;
}

/** True when every row carries the answering side and one fingerprint. */
export function isConsistent(r: SearchResponse): boolean {
  const runs = new Set(r.results.map((x) => `${x.ingest_run_id}|${x.chunk_version}`));
  return runs.size <= 1 && r.results.every((x) => x.side === r.side);
}

export async function replayTraffic(options: TrafficOptions, onResponse?: (e: TrafficEvent) => void): Promise<TrafficReport> {
  const parsed = TrafficOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`invalid traffic options: ${formatZodIssues(parsed.error, { root: '(options)', separator: '; ' })}`);
  const o = parsed.data;
  const target = new URL('/search', o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const random = seededRandom(o.seed);
  const order = shuffled(o.questions.length, random);
  const report: TrafficReport = {
    sent: 0, ok: 0, failed: 0, dropped: 0, statusCounts: {}, bySide: { baseline: 0, candidate: 0 }, fallbacks: 0, mixed: 0,
    pointerVersions: {}, durationMs: 0, achievedRps: 0, latencyMs: { p50: 0, p95: 0, p99: 0 },
  };
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  try {
    for (let i = 0; i < o.maxRequests; i++) {
      const due = t0 + (i * 1000) / o.ratePerSecond;
      if (due - t0 > o.maxDurationMs) break;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (inFlight.size >= o.concurrency) {
        report.dropped++;
        continue;
      }
      const question = o.questions[order[i % order.length]];
      const key = `user-${Math.floor(random() * o.users)}`;
      report.sent++;
      const p = send(agent, target, { query: question, key, ...(o.k ? { k: o.k } : {}) }, o.timeoutMs).then(({ status, body, latencyMs }) => {
        latencies.push(latencyMs);
        report.statusCounts[status] = (report.statusCounts[status] ?? 0) + 1;
        const answer = status === 200 ? (body as SearchResponse) : null;
        if (answer) {
          report.ok++;
          report.bySide[answer.side]++;
          if (answer.fallback) report.fallbacks++;
          if (!isConsistent(answer)) report.mixed++;
          report.pointerVersions[answer.pointerVersion] = (report.pointerVersions[answer.pointerVersion] ?? 0) + 1;
        } else {
          report.failed++;
        }
        onResponse?.({ index: i, key, question, status, latencyMs, body: body as TrafficEvent['body'], sentAt: due });
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.all(inFlight);
  } finally {
    agent.destroy();
  }
  report.durationMs = performance.now() - t0;
  report.achievedRps = report.sent / (report.durationMs / 1000);
  report.latencyMs = { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99) };
  return report;
}

/** POSTs JSON; never throws (a network failure is status 0). */
function send(agent: http.Agent, url: URL, payload: unknown, timeoutMs: number): Promise<{ status: number; body: unknown; latencyMs: number }> {
  const data = JSON.stringify(payload);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: unknown = null;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = null;
          }
          resolve({ status: res.statusCode ?? 0, body, latencyMs: performance.now() - t0 });
        });
        res.on('error', () => resolve({ status: 0, body: null, latencyMs: performance.now() - t0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: null, latencyMs: performance.now() - t0 }));
    req.end(data);
  });
}

function shuffled(n: number, random: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// CLI: node dist/serve/traffic.js --url http://127.0.0.1:8088 --rate 20 --duration 60 [--max 1000]
//        [--split train|dev|all] [--sample N] [--users 1000] [--concurrency 32] [--seed 1]

/** The service's own address settings (src/serve/main.ts), so one exported BAKEOFF_SERVE_PORT serves both. */
function defaultServiceUrl(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.BAKEOFF_SERVE_HOST || '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${env.BAKEOFF_SERVE_PORT || '8088'}`;
}

const CliSchema = z.strictObject({
  url: z.string().default(() => defaultServiceUrl()),
  rate: z.coerce.number().positive().default(20),
  duration: z.coerce.number().positive().default(60),
  max: z.coerce.number().int().positive().default(100_000),
  split: z.enum(['train', 'dev', 'all']).default('dev'),
  users: z.coerce.number().int().positive().default(1000),
  concurrency: z.coerce.number().int().positive().default(32),
  seed: z.coerce.number().int().default(1),
  /** The --sample N the lane was ingested from: replay that sample's questions, not the whole split's. */
  sample: z.coerce.number().int().positive().optional(),
});

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z]+)$/.exec(argv[i]);
    if (!m || i + 1 >= argv.length) throw new Error(`unexpected argument ${JSON.stringify(argv[i])}; use --name value (see --help)`);
    out[m[1]] = argv[++i];
  }
  return out;
}

export const TRAFFIC_USAGE = `usage: node dist/serve/traffic.js [--url URL] [--rate 20] [--duration 60] [--max 100000]
                                [--split train|dev|all] [--sample N] [--users 1000] [--concurrency 32] [--seed 1]
--url: default http://$BAKEOFF_SERVE_HOST:$BAKEOFF_SERVE_PORT (the service's own settings; 127.0.0.1:8088 when unset).
--sample N: the questions of the same N-case sample the lane was ingested from (bakeoff ingest --sample N).
Replays the evaluation questions against a running retrieval service (loopback only) at --rate requests/s
for --duration seconds (at most --max requests), with sticky user keys; prints a JSON report at the end.`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(TRAFFIC_USAGE);
    return;
  }
  const parsed = CliSchema.safeParse(parseArgs(argv));
  if (!parsed.success) throw new Error(formatZodIssues(parsed.error, { prefix: '--', root: '', separator: '; ' }));
  const a = parsed.data;
  const dataset =
    a.sample === undefined
      ? await loadDataset(undefined, a.split === 'all' ? {} : { split: a.split as Split })
      : await subsetForTests(a.sample).then((d) => ({ ...d, cases: d.cases.filter((c) => a.split === 'all' || c.split === a.split) }));
  if (dataset.cases.length === 0) throw new Error(`no ${a.split} questions${a.sample ? ` in a sample of ${a.sample}` : ''}: use --split all or a larger --sample`);
  const report = await replayTraffic({
    url: a.url, questions: dataset.cases.map((c) => c.question), ratePerSecond: a.rate, maxRequests: a.max,
    maxDurationMs: Math.round(a.duration * 1000), users: a.users, concurrency: a.concurrency, seed: a.seed,
  });
  console.log(JSON.stringify(report, null, 2));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`bakeoff traffic: ${(err as Error).message}`);
    process.exit(1);
  });
}
