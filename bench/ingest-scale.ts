// Ingest throughput with 1 and 2 data workers (issue 17 item 2), side by side in one run, on the same
// corpus. Each data worker is a separate process running the real sharded ingest (src/rag/ingest.ts
// with a shard: classify, chunk with the model's tokenizer, dedup over the whole corpus, embed ITS
// documents with the real MiniLM ONNX model, upsert into PostgreSQL with its own cursor row), limited
// to one inference thread (onnxruntime intra/inter-op threads 1, set under transformers.js, which does
// not expose them) and pinned to its own core with taskset, so 2 workers on 2 cores compare fairly with 1.
// Temporal is left out: it only dispatches the shard activities (milliseconds against minutes).
// Workers load the model first and start together on a "go" line; the time is from go to the last
// worker's last commit. Modes alternate (1, 2, 1, 2, ...) so load drift hits both. Target: ratio ≥ 1.7.
// Each worker also reports its process CPU time: chunks per CPU-second does not move with the load.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/ingest-scale.js [--docs 120] [--rounds 2] [--pg URL]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { z } from 'zod';
import { loadDataset } from '../src/data/dataset';
import { openDb, quoteIdent } from '../src/platform/db';
import { startPostgres } from '../src/platform/postgres-server';
import { formatZodIssues } from '../src/platform/zod-issues';
import { defaultCandidate, lockConfig, type LockedConfig } from '../src/rag/config';
import { Embedder } from '../src/rag/embed';
import { shadowIngest } from '../src/rag/ingest';

const Options = z.strictObject({
  docs: z.coerce.number().int().min(4).max(10_000),
  rounds: z.coerce.number().int().min(1).max(20),
  pg: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
});

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The same documents in every process: every k-th of the FAQ corpus, answers and distractors alike. */
async function corpus(n: number) {
  const dataset = await loadDataset();
  const step = Math.max(1, Math.floor(dataset.docs.length / n));
  return dataset.docs.filter((_, i) => i % step === 0).slice(0, n);
}

function configOf(embedder: Embedder): LockedConfig {
  return lockConfig(defaultCandidate({ embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash }, 'v450_o10_j80_a_scale'), new Date('2026-12-06T00:00:00Z'));
}

// ---- a data worker (child process) --------------------------------------------------------------

/**
 * One inference thread: onnxruntime's session options, which transformers.js 2.17 does not pass
 * through (its two default threads pinned to one core would only spin against each other).
 */
function oneInferenceThread(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as { InferenceSession: { create: (model: unknown, options?: Record<string, unknown>) => Promise<unknown> } };
  const create = ort.InferenceSession.create.bind(ort.InferenceSession);
  ort.InferenceSession.create = (model, options) => create(model, { ...options, intraOpNumThreads: 1, interOpNumThreads: 1 });
}

async function child(): Promise<void> {
  oneInferenceThread();
  const [url, table] = [arg('pg')!, arg('table')!];
  const shard = { index: Number(arg('shard')), count: Number(arg('count')) };
  const docs = await corpus(Number(arg('docs')));
  const embedder = await Embedder.load();
  await embedder.embed(['warm-up sentence for the session']);
  // onnxruntime pins the threads it creates to cores of its own choosing, escaping the taskset the
  // process was started under (seen: a pool thread on core 1 in a process started on core 0, 2 CPU-s
  // per wall second): pin every thread again now that they exist, so one worker really is one core.
  execFileSync('taskset', ['-a', '-p', '-c', arg('cpu')!, String(process.pid)], { stdio: 'ignore' });
  const db = await openDb({ url });
  process.stdout.write('READY\n');
  await new Promise<void>((resolve) => readline.createInterface({ input: process.stdin }).once('line', () => resolve()));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const report = await shadowIngest({ db, config: configOf(embedder), docs, embedder, table, shard });
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`DONE ${JSON.stringify({ shard: shard.index, chunks: report.shard?.chunks ?? report.chunks, ms: performance.now() - t0, embedMs: report.embed_ms, cpuS: (cpu.user + cpu.system) / 1e6 })}\n`);
  await db.close();
  process.exit(0); // onnxruntime's threads would keep the process alive
}

// ---- the bench ----------------------------------------------------------------------------------

interface Done {
  shard: number;
  chunks: number;
  ms: number;
  embedMs: number;
  cpuS: number;
}

function startWorker(o: { cpu: number; url: string; table: string; shard: number; count: number; docs: number }): { proc: ChildProcess; ready: Promise<void>; done: Promise<Done> } {
  const argv = [...process.execArgv, process.argv[1], '--child', '--cpu', String(o.cpu), '--pg', o.url, '--table', o.table, '--shard', String(o.shard), '--count', String(o.count), '--docs', String(o.docs)];
  const proc = spawn('taskset', ['-c', String(o.cpu), process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: proc.stdout! });
  let onReady!: () => void;
  let onDone!: (d: Done) => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const done = new Promise<Done>((r, reject) => {
    onDone = r;
    proc.once('exit', (code) => reject(new Error(`data worker ${o.shard}/${o.count} exited with ${code} before it finished`)));
  });
  lines.on('line', (l) => {
    if (l === 'READY') onReady();
    else if (l.startsWith('DONE ')) onDone(JSON.parse(l.slice(5)) as Done);
  });
  return { proc, ready, done };
}

async function round(url: string, workers: number, docs: number, table: string): Promise<{ chunks: number; wallMs: number; perWorker: Done[] }> {
  const db = await openDb({ url });
  await db.exec(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
  await db.exec('DROP TABLE IF EXISTS ingest_runs');
  await db.close();
  const procs = Array.from({ length: workers }, (_, shard) => startWorker({ cpu: shard % os.cpus().length, url, table, shard, count: workers, docs }));
  await Promise.all(procs.map((p) => p.ready));
  // Shard 0 creates the table first, so the others do not race it (the activity retries that race).
  const t0 = performance.now();
  procs[0].proc.stdin!.write('go\n');
  await new Promise((r) => setTimeout(r, 300));
  for (const p of procs.slice(1)) p.proc.stdin!.write('go\n');
  const perWorker = await Promise.all(procs.map((p) => p.done)).finally(() => procs.forEach((p) => p.proc.kill()));
  const wallMs = performance.now() - t0;
  return { chunks: perWorker.reduce((s, d) => s + d.chunks, 0), wallMs, perWorker };
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) return child();
  const parsed = Options.safeParse({ docs: arg('docs') ?? '120', rounds: arg('rounds') ?? '2', pg: arg('pg') });
  if (!parsed.success) throw new Error(formatZodIssues(parsed.error, { root: '', separator: '; ' }));
  const o = parsed.data;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-scale-'));
  const server = o.pg ? null : await startPostgres({ dir: path.join(work, 'pg'), ephemeral: true });
  const url = o.pg ?? server!.url;
  try {
    const load0 = os.loadavg();
    const results: Record<1 | 2, { chunks: number; wallMs: number; perWorker: Done[] }[]> = { 1: [], 2: [] };
    for (let r = 0; r < o.rounds; r++) {
      for (const workers of [1, 2] as const) {
        const res = await round(url, workers, o.docs, `scale_bench_${workers}`);
        results[workers].push(res);
        const rate = res.chunks / (res.wallMs / 1000);
        console.log(`round ${r + 1}, ${workers} data worker(s): ${res.chunks} chunks in ${(res.wallMs / 1000).toFixed(1)} s = ${rate.toFixed(2)} chunks/s; per worker ${res.perWorker.map((d) => `shard ${d.shard}: ${d.chunks} chunks, ${(d.ms / 1000).toFixed(1)} s (embed ${(d.embedMs / 1000).toFixed(1)} s, CPU ${d.cpuS.toFixed(1)} s)`).join('; ')}; load ${os.loadavg()[0].toFixed(2)}`);
      }
    }
    const rate = (w: 1 | 2) => {
      const chunks = results[w].reduce((s, x) => s + x.chunks, 0);
      const secs = results[w].reduce((s, x) => s + x.wallMs, 0) / 1000;
      return chunks / secs;
    };
    const one = rate(1);
    const two = rate(2);
    const load1 = os.loadavg();
    console.log(`\n${o.docs} FAQ documents (${results[1][0].chunks} chunks), ${o.rounds} round(s) per mode, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), each data worker pinned to one core`);
    console.log(`1 data worker : ${one.toFixed(2)} chunks/s`);
    console.log(`2 data workers: ${two.toFixed(2)} chunks/s`);
    // Load-insensitive cross-check: the 2-worker critical path in CPU-seconds (the busier worker's) against 1 worker's.
    const cpu1 = results[1].reduce((s, x) => s + x.perWorker[0].cpuS, 0);
    const cpu2 = results[2].reduce((s, x) => s + Math.max(...x.perWorker.map((d) => d.cpuS)), 0);
    console.log(`CPU-time ratio ${(cpu1 / cpu2).toFixed(2)} (1 worker ${cpu1.toFixed(1)} CPU-s; 2 workers, the busier one ${cpu2.toFixed(1)} CPU-s): the wall-clock ratio a machine with 2 free cores would show`);
    console.log(`ratio ${(two / one).toFixed(2)} (target ≥ 1.7); load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
