// Ingest throughput against the raw ONNX model on the very same batches, side by side in one run.
// The ingest is the real shadowIngest (classify, chunk with the model's tokenizer, MinHash dedup,
// prefix policy, embed, upsert into PGlite with the cursor) of real FAQ documents under the seeds'
// candidate config. The raw figure replays every embed() call the ingest made, grouped exactly as
// embed() groups them (length-sorted batches of 32), pre-tokenised, timing only the ONNX forward.
// Order: ingest, raw, ingest again (a fresh database), so a load change on this shared machine shows
// as a gap between the two ingests instead of silently skewing the ratio. Target: ingest ≥ 80 % of raw.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/ingest-throughput.js [--docs 150] [--pg URL]
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
const DOCS = Number(arg('docs', '150'));
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

  const ingestOnce = async (): Promise<IngestReport> => {
    const db = await openDb(PG ? { url: PG } : {});
    try {
      await db.exec(`DROP TABLE IF EXISTS ${config.shadow_table}`);
      await db.exec('DROP TABLE IF EXISTS ingest_runs');
      return await shadowIngest({ db, config, docs, embedder: recording });
    } finally {
      await db.close();
    }
  };

  const first = await ingestOnce();
  const recorded = calls.splice(0);

  // Raw: the same texts, the same groups, tokenised before the clock starts.
  let rawSeconds = 0;
  let rawRows = 0;
  for (const texts of recorded) {
    const lengths = texts.map((t) => Math.min(embedder.countTokens(t) + 2, embedder.maxTokens));
    const order = texts.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let s = 0; s < order.length; s += EMBED_BATCH) {
      const batch = embedder.tokenizeBatch(order.slice(s, s + EMBED_BATCH).map((i) => texts[i]));
      const t0 = process.hrtime.bigint();
      await embedder.rawForward(batch);
      rawSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
      rawRows += batch.size;
    }
  }
  const second = await ingestOnce();

  const rate = (r: IngestReport) => r.chunks / (r.duration_ms / 1000);
  const raw = rawRows / rawSeconds;
  const ingestRates = [rate(first), rate(second)];
  const meanIngest = (ingestRates[0] + ingestRates[1]) / 2;
  const out = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    database: PG ? 'postgresql' : 'pglite (in-memory)',
    model: embedder.modelId,
    documents: docs.length,
    chunks: first.chunks,
    embed_calls: recorded.length,
    raw_rows: rawRows,
    raw_chunks_per_s: raw,
    ingest_chunks_per_s: ingestRates,
    ingest_embed_share: [first.embed_ms / first.duration_ms, second.embed_ms / second.duration_ms],
    ratio: meanIngest / raw,
    ratios: ingestRates.map((r) => r / raw),
    target_ratio: 0.8,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  process.stderr.write(
    `ingest ${first.chunks} chunks of ${docs.length} documents: ${ingestRates.map((r) => r.toFixed(2)).join(' / ')} chunks/s (ingest, again); ` +
      `raw ONNX on the same batches ${raw.toFixed(2)} chunks/s → ${(out.ratio * 100).toFixed(1)} % (target ≥ 80 %)\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`ingest-throughput failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
