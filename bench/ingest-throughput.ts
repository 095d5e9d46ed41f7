// Ingest throughput against the raw ONNX model on the very same batches, side by side in one run.
// The ingest is the real shadowIngest (classify, chunk with the model's tokenizer, MinHash dedup,
// prefix policy, embed, upsert into PGlite with the cursor) of real FAQ documents under the seeds'
// candidate config. The raw figure replays every embed() call the ingest made, grouped exactly as
// embed() groups them (length-sorted batches of 32), pre-tokenised, timing only the ONNX forward.
// This machine's 2 cores are shared, and the load moves by 2x within minutes, so the work is split
// into rounds — ingest a slice, then replay its batches raw — and the ratio is taken per round
// (median reported); process CPU time gives a load-insensitive cross-check. Target: ingest ≥ 80 % of raw.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/ingest-throughput.js [--docs 160] [--rounds 4] [--pg URL]
import * as os from 'node:os';
import { loadDataset } from '../src/data/dataset';
import { openDb } from '../src/platform/db';
import { defaultCandidate, lockConfig } from '../src/rag/config';
import { Embedder } from '../src/rag/embed';
import { shadowIngest, type IngestReport } from '../src/rag/ingest';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const DOCS = Number(arg('docs', '160'));
const ROUNDS = Number(arg('rounds', '4'));
const PG = process.argv.includes('--pg') ? arg('pg', '') : undefined;
/** embed()'s default batch size: the raw replay groups rows as embed() does. */
const EMBED_BATCH = 32;

async function main(): Promise<void> {
  const dataset = await loadDataset();
  // Every other document from the start of the corpus: FAQ answers and distractors alike.
  const docs = dataset.docs.filter((_, i) => i % Math.max(1, Math.floor(dataset.docs.length / DOCS)) === 0).slice(0, DOCS);
  const embedder = await Embedder.load();
  const config = lockConfig(defaultCandidate({ embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash }, 'v450_o10_j80_a_bench'));
  await embedder.embed(['warm-up sentence for the session']);

  // The texts of every embed() call the ingest makes, in order.
  const calls: string[][] = [];
  const recording = {
    dims: embedder.dims,
    modelId: embedder.modelId,
    maxTokens: embedder.maxTokens,
    countTokens: (t: string) => embedder.countTokens(t),
    embeddingTokens: (t: string) => embedder.embeddingTokens(t),
    embed: (texts: string[]) => {
      calls.push([...texts]);
      return embedder.embed(texts);
    },
  };

  const ingestOnce = async (slice: typeof docs): Promise<IngestReport> => {
    const db = await openDb(PG ? { url: PG } : {});
    try {
      await db.exec(`DROP TABLE IF EXISTS ${config.shadow_table}`);
      await db.exec('DROP TABLE IF EXISTS ingest_runs');
      return await shadowIngest({ db, config, docs: slice, embedder: recording });
    } finally {
      await db.close();
    }
  };
  const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

  interface Round { chunks: number; ingestS: number; ingestCpuS: number; embedShare: number; rawS: number; rawCpuS: number; rows: number }
  const rounds: Round[] = [];
  const per = Math.ceil(docs.length / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    const slice = docs.slice(r * per, (r + 1) * per);
    if (slice.length === 0) break;
    const c0 = process.cpuUsage();
    const report = await ingestOnce(slice);
    const ingestCpuS = cpuSeconds(process.cpuUsage(c0));
    const recorded = calls.splice(0);
    // Raw: the same texts, the same groups, tokenised before the clock starts.
    let rawS = 0;
    let rawCpuS = 0;
    let rows = 0;
    for (const texts of recorded) {
      const lengths = texts.map((t) => Math.min(embedder.countTokens(t) + 2, embedder.maxTokens));
      const order = texts.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
      for (let s = 0; s < order.length; s += EMBED_BATCH) {
        const batch = embedder.tokenizeBatch(order.slice(s, s + EMBED_BATCH).map((i) => texts[i]));
        const c1 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await embedder.rawForward(batch);
        rawS += Number(process.hrtime.bigint() - t0) / 1e9;
        rawCpuS += cpuSeconds(process.cpuUsage(c1));
        rows += batch.size;
      }
    }
    rounds.push({ chunks: report.chunks, ingestS: report.duration_ms / 1000, ingestCpuS, embedShare: report.embed_ms / report.duration_ms, rawS, rawCpuS, rows });
    process.stderr.write(`round ${r + 1}: ${report.chunks} chunks, ingest ${(report.chunks / (report.duration_ms / 1000)).toFixed(2)} chunks/s, raw ${(rows / rawS).toFixed(2)} chunks/s\n`);
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const sum = (f: (r: Round) => number) => rounds.reduce((s, r) => s + f(r), 0);
  const ratios = rounds.map((r) => r.chunks / r.ingestS / (r.rows / r.rawS));
  const chunks = sum((r) => r.chunks);
  const out = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    database: PG ? 'postgresql' : 'pglite (in-memory)',
    model: embedder.modelId,
    documents: docs.length,
    rounds: rounds.length,
    chunks,
    ingest_chunks_per_s: chunks / sum((r) => r.ingestS),
    raw_chunks_per_s: sum((r) => r.rows) / sum((r) => r.rawS),
    ratio_per_round: ratios,
    ratio_median: median(ratios),
    ratio_overall: chunks / sum((r) => r.ingestS) / (sum((r) => r.rows) / sum((r) => r.rawS)),
    /** CPU seconds per chunk, raw ÷ ingest: insensitive to other processes' load. */
    ratio_cpu: sum((r) => r.rawCpuS) / sum((r) => r.rows) / (sum((r) => r.ingestCpuS) / chunks),
    ingest_embed_share: median(rounds.map((r) => r.embedShare)),
    target_ratio: 0.8,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  process.stderr.write(
    `ingest ${chunks} chunks of ${docs.length} documents in ${rounds.length} rounds: ${out.ingest_chunks_per_s.toFixed(2)} chunks/s; raw ONNX on the same batches ` +
      `${out.raw_chunks_per_s.toFixed(2)} chunks/s; ratio median ${(out.ratio_median * 100).toFixed(1)} % (per round ${ratios.map((x) => (x * 100).toFixed(0)).join(', ')} %), ` +
      `CPU-time ratio ${(out.ratio_cpu * 100).toFixed(1)} % (target ≥ 80 %)\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`ingest-throughput failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
