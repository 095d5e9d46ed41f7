// The load generator of bench/serve-load.ts, run as a SECOND process (forked) so its own CPU use is
// not mistaken for the service's. Closed loop: `clients` connections each send the next /search as
// soon as the previous answer arrives, for warmupMs (not measured) then durationMs (measured).
// Receives its job by IPC, answers with one result message and exits.
import * as http from 'node:http';
import { seededRandom as mulberry32 } from '../src/platform/seeded-random';

export interface LoadJob {
  url: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  questions: string[];
  users: number;
  seed: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  statusCounts: Record<string, number>;
  sides: Record<string, number>;
  cachedShare: number;
  rps: number;
  latencyMs: { mean: number; p50: number; p95: number; p99: number; max: number };
  /** The service's own view of the same requests (timingsMs in the answers), means in ms. */
  serverMs: { route: number; encode: number; search: number; rerank: number; total: number };
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] : 0);

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.clients });
  const target = new URL('/search', job.url);
  const random = mulberry32(job.seed);
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const sides: Record<string, number> = {};
  const server = { route: 0, encode: 0, search: 0, rerank: 0, total: 0 };
  let answered = 0;
  let cached = 0;
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const stopAt = measureFrom + job.durationMs;

  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const body = JSON.stringify({ query: job.questions[Math.floor(random() * job.questions.length)], key: `user-${Math.floor(random() * job.users)}` });
      const t0 = performance.now();
      const req = http.request(target, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const t1 = performance.now();
          if (t0 >= measureFrom && t1 <= stopAt) {
            latencies.push(t1 - t0);
            statusCounts[res.statusCode ?? 0] = (statusCounts[res.statusCode ?? 0] ?? 0) + 1;
            if (res.statusCode === 200) {
              const r = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { side: string; cached: boolean; timingsMs: typeof server };
              sides[r.side] = (sides[r.side] ?? 0) + 1;
              if (r.cached) cached++;
              for (const k of Object.keys(server) as (keyof typeof server)[]) server[k] += r.timingsMs[k];
              answered++;
            } else errors++;
          }
          resolve();
        });
      });
      req.on('error', () => {
        if (t0 >= measureFrom) errors++;
        resolve();
      });
      req.end(body);
    });

  await Promise.all(
    Array.from({ length: job.clients }, async () => {
      while (performance.now() < stopAt) await one();
    }),
  );
  agent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = (x: number) => (answered ? x / answered : 0);
  return {
    requests: latencies.length,
    errors,
    statusCounts,
    sides,
    cachedShare: answered ? cached / answered : 0,
    rps: latencies.length / (job.durationMs / 1000),
    latencyMs: { mean: sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length), p50: pct(sorted, 0.5), p95: pct(sorted, 0.95), p99: pct(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 },
    serverMs: { route: mean(server.route), encode: mean(server.encode), search: mean(server.search), rerank: mean(server.rerank), total: mean(server.total) },
  };
}

if (require.main === module) {
  process.once('message', (job: LoadJob) => {
    runLoad(job).then(
      (result) => process.send!(result, () => process.exit(0)),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
