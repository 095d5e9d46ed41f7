// The corpus source layer at scale: a synthetic 100,000-document JSONL file (written here, seeded) read
// through src/data/sources (JSONL source: line streaming, UTF-8 check, zod validation, duplicate-id
// check, per-document sha256) plus the snapshot fingerprint, consumed in batches of 64 documents as the
// ingest consumes them. Prints peak RSS during the pass (target ≤ 1.5 GB) and the source layer's
// per-document cost against the embedding time of the same documents (the provisioned MiniLM model,
// on a sample), then records both in docs/benchmarks.md between the ingest-stream markers.
//
// --ingest also runs the same file through the REAL ingest path: registered as a dataset (`dataset add`
// validation), locked (corpus_snapshot), streamed by the registry into shadowIngest (fingerprint pass,
// token-accurate chunking with the real MiniLM tokenizer, streamed near-dedup, prefix policy, batched
// upserts into a PGlite table on disk, or with --pg a private PostgreSQL cluster, stale-row deletion, BM25 statistics). Embedding 100k documents
// with the real model takes ~1.5 h on this machine, so that run embeds with a stated cheap deterministic
// embedder (sha256-seeded unit vectors), and the real model's time is measured on the same chunk texts
// of a sample of the ingested documents: the ratio of ingest bookkeeping to embedding is then honest.
//
//   npx tsc -p bench/tsconfig.json && node --expose-gc .bakeoff/bench-build/bench/ingest-stream.js [--docs 100000] [--embed-sample 256] [--ingest [--pg]] [--no-record]
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lockCorpusSnapshot } from '../src/data/locked-corpus';
import { addDataset } from '../src/data/registry';
import { registeredCorpusBatches } from '../src/data/registry-resolve';
import { JsonlSource } from '../src/data/sources/jsonl-source';
import { openDb } from '../src/platform/db';
import { startPostgres } from '../src/platform/postgres-server';
import { defaultCandidate, lockConfig } from '../src/rag/config';
import { CorpusFingerprinter } from '../src/rag/corpus-fingerprint';
import { seededRandom } from '../src/platform/seeded-random';
import { Embedder } from '../src/rag/embed';
import { shadowIngest, type EmbedFn } from '../src/rag/ingest';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const DOCS = Number(arg('docs', '100000'));
const EMBED_SAMPLE = Number(arg('embed-sample', '256'));
const INGEST = process.argv.includes('--ingest');
/** --pg: a private PostgreSQL 15 + pgvector cluster (its own process, so the bench's RSS is the ingest's alone); else PGlite on disk, in this process. */
const PG = process.argv.includes('--pg');
const BATCH = 64;
/** Compiled to .bakeoff/bench-build/bench/: the repository is three levels up. */
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const RSS_LIMIT = 1.5e9;

const WORDS = 'the a retrieval index vector query shard replica token chunk cursor lease rollout baseline canary pointer latency recall ranking document corpus table embedding model worker activity workflow signal operator threshold'.split(' ');

/** Writes the corpus streamed (never in memory): ~1.2 kB of text per document, like a help-centre article. */
async function writeCorpus(file: string): Promise<number> {
  const rnd = seededRandom(16);
  const out = fs.createWriteStream(file);
  for (let i = 0; i < DOCS; i++) {
    const words = Array.from({ length: 150 + Math.floor(rnd() * 100) }, () => WORDS[Math.floor(rnd() * WORDS.length)]);
    const line = JSON.stringify({ id: `doc-${i}`, title: `Article ${i}`, text: words.join(' '), metadata: { team: i % 7 === 0 ? 'search' : 'platform', n: i } }) + '\n';
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return fs.statSync(file).size;
}

/** Bench-only embedder: the real tokenizer (so chunking is real), unit vectors seeded by sha256 of the text. */
function hashEmbedder(real: Embedder): EmbedFn {
  const vector = (text: string): Float32Array => {
    const rnd = seededRandom(createHash('sha256').update(text).digest().readUInt32LE(0));
    const v = new Float32Array(real.dims);
    let sq = 0;
    for (let i = 0; i < v.length; i++) sq += (v[i] = rnd() * 2 - 1) ** 2;
    const n = Math.sqrt(sq);
    for (let i = 0; i < v.length; i++) v[i] /= n;
    return v;
  };
  return {
    dims: real.dims,
    modelId: `sha256-seeded-vectors/${real.dims} (bench stand-in; tokenizer ${real.name})`,
    maxTokens: real.maxTokens,
    countTokens: (t) => real.countTokens(t),
    embeddingTokens: (t) => real.embeddingTokens(t),
    embed: async (texts) => texts.map(vector),
  };
}

interface IngestFigures {
  docs: number;
  chunks: number;
  duplicates: number;
  registerMs: number;
  wallMs: number;
  cpuMs: number;
  standInEmbedMs: number;
  overheadMsPerDoc: number;
  realEmbedMsPerDoc: number;
  sampleDocs: number;
  sampleChunks: number;
  peakRss: number;
  rssBefore: number;
  retainedBytesPerDoc: number | null;
  rows: number;
  model: string;
  engine: string;
}

/** The real ingest path over the file (see the header); peak RSS sampled every 250 ms and at every batch. */
async function ingestPath(file: string, dir: string): Promise<IngestFigures> {
  const home = path.join(dir, 'home');
  const real = await Embedder.load();
  const r0 = process.hrtime.bigint();
  await addDataset(home, 'bench', { kind: 'jsonl', file });
  const registerMs = Number(process.hrtime.bigint() - r0) / 1e6;
  const identity = { embedder: real.name, tokenizer: real.name, tokenizer_hash: real.tokenizerHash };
  const locked = lockCorpusSnapshot(lockConfig({ ...defaultCandidate(identity, 'v450_o10_j80_bench'), dataset: 'bench' }), home);
  const server = PG ? await startPostgres({ dir: path.join(dir, 'pg'), ephemeral: true }) : null;
  const db = await openDb(server ? { url: server.url } : { dataDir: path.join(dir, 'pglite') });
  const docs: AsyncIterable<unknown> = {
    async *[Symbol.asyncIterator]() {
      for await (const batch of registeredCorpusBatches(home, 'bench')) yield* batch;
    },
  };
  try {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = process.memoryUsage().heapUsed;
    let peakRss = rssBefore;
    let retained: number | null = null;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let shown = 0;
    const report = await shadowIngest({
      db,
      config: locked,
      docs,
      embedder: hashEmbedder(real),
      table: 'bench_stream',
      expectedSnapshot: locked.corpus_snapshot,
      onProgress: (p) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (p.docsDone === p.docsTotal && global.gc) {
          // Everything ingest holds at the end of the corpus: the dedup state of every kept chunk, the ids, the fingerprint lines.
          global.gc();
          retained = (process.memoryUsage().heapUsed - heapBefore) / p.docsTotal;
        }
        if (p.docsDone - shown >= 10_000 || p.docsDone === p.docsTotal) {
          shown = p.docsDone;
          console.log(`  ingest ${p.docsDone}/${p.docsTotal} docs, ${p.chunks} chunks, ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0)} s, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, JS heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
        }
      },
    });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    // The real model on the very chunk texts ingest embedded, for a sample of its documents.
    const ids = Array.from({ length: Math.min(EMBED_SAMPLE, report.docs_total) }, (_, i) => `doc-${Math.floor((i * report.docs_total) / Math.min(EMBED_SAMPLE, report.docs_total))}`);
    const texts = (await db.query<{ embedding_text: string }>('SELECT embedding_text FROM bench_stream WHERE doc_id = ANY($1::text[]) ORDER BY chunk_id', [ids])).rows.map((r) => r.embedding_text);
    await real.embed(['warm-up sentence']);
    const e0 = process.hrtime.bigint();
    for (let i = 0; i < texts.length; i += 32) await real.embed(texts.slice(i, i + 32));
    const realEmbedMsPerDoc = Number(process.hrtime.bigint() - e0) / 1e6 / ids.length;
    return {
      docs: report.docs_total,
      chunks: report.chunks,
      duplicates: report.duplicates_removed,
      registerMs,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      standInEmbedMs: report.embed_ms,
      overheadMsPerDoc: (wallMs - report.embed_ms) / report.docs_total,
      realEmbedMsPerDoc,
      sampleDocs: ids.length,
      sampleChunks: texts.length,
      peakRss,
      rssBefore,
      retainedBytesPerDoc: retained,
      rows: report.rows_in_table,
      model: real.name,
      engine: server ? 'a PostgreSQL 15 + pgvector table (private cluster, its own process: not in the RSS below)' : 'a PGlite table on disk (PGlite runs in this process: its WASM heap is in the RSS below)',
    };
  } finally {
    await db.close();
    await server?.stop();
  }
}

function ingestSection(f: IngestFigures): string {
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  return `
### The real ingest path (--ingest)

The same file registered (\`dataset add\` validation: ${(f.registerMs / 1000).toFixed(1)} s), locked, and streamed by the registry into
shadowIngest into ${f.engine}: fingerprint pass, real ${f.model} tokenizer for token-accurate chunking, streamed
near-duplicate removal, prefix policy, batched upserts, stale-row deletion, BM25 statistics. **Embeddings in this run come from a
bench stand-in** (unit vectors seeded by sha256 of the chunk text, ${f.standInEmbedMs.toFixed(0)} ms in all); the real model's time is
measured on the same chunk texts of ${f.sampleDocs} of the ingested documents (${f.sampleChunks} chunks).

| measure | value | target |
|---|---|---|
| documents → chunks kept (near-duplicates removed) | ${f.docs.toLocaleString('en-US')} → ${f.chunks.toLocaleString('en-US')} (${f.duplicates}); ${f.rows.toLocaleString('en-US')} rows in the table | — |
| peak RSS during the ingest (sampled every 250 ms and every batch) | ${mb(f.peakRss)} (${mb(f.rssBefore)} before) | ≤ 1,500 MB (${f.peakRss <= RSS_LIMIT ? 'met' : 'not met'}) |
| heap held at the last document (dedup state, ids, fingerprint lines), per document | ${f.retainedBytesPerDoc === null ? 'n/a (run without --expose-gc)' : `${Math.round(f.retainedBytesPerDoc)} bytes`} | — |
| ingest wall / CPU time | ${(f.wallMs / 1000).toFixed(0)} s / ${(f.cpuMs / 1000).toFixed(0)} s | — |
| source + ingest bookkeeping per document (wall minus stand-in embedding) | ${f.overheadMsPerDoc.toFixed(2)} ms | — |
| real embedding per document (${f.model}, same chunk texts) | ${f.realEmbedMsPerDoc.toFixed(1)} ms | — |
| bookkeeping vs real embedding | ${((f.overheadMsPerDoc / f.realEmbedMsPerDoc) * 100).toFixed(1)} % | — |
`;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-ingest-stream-'));
  const file = path.join(dir, 'corpus.jsonl');
  try {
    const bytes = await writeCorpus(file);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const snapshot = new CorpusFingerprinter();
    let batch: { id: string; text: string }[] = [];
    let batches = 0;
    let docs = 0;
    const sample: string[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for await (const d of new JsonlSource(file).docs()) {
      snapshot.add(d.id, d.sha256);
      batch.push(d);
      if (sample.length < EMBED_SAMPLE) sample.push(d.text);
      if (batch.length === BATCH) {
        batches++;
        batch = []; // the ingest embeds and writes the batch here, then drops it
      }
      if (++docs % 1000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const digest = snapshot.digest().snapshot;
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const sourceUsPerDoc = (wallMs * 1000) / docs;
    const sourceCpuUsPerDoc = (cpu.user + cpu.system) / docs;
    console.log(`source: ${docs} documents (${(bytes / 1e6).toFixed(1)} MB) in ${(wallMs / 1000).toFixed(2)} s: ${sourceUsPerDoc.toFixed(1)} µs/doc wall, ${sourceCpuUsPerDoc.toFixed(1)} µs/doc CPU; ${batches} batches of ${BATCH}`);
    console.log(`RSS: ${(rssBefore / 1e6).toFixed(0)} MB before the pass, peak ${(peakRss / 1e6).toFixed(0)} MB during it (limit ${(RSS_LIMIT / 1e9).toFixed(1)} GB: ${peakRss <= RSS_LIMIT ? 'met' : 'EXCEEDED'}); snapshot sha256 ${digest}`);

    // The ingest runs before any model inference in this process: onnxruntime's arena, once grown by
    // the embedding samples, stays in the RSS and would be counted against the ingest.
    const ingest = INGEST ? await ingestPath(file, dir) : null;

    const embedder = await Embedder.load();
    await embedder.embed(['warm-up sentence']);
    const e0 = process.hrtime.bigint();
    for (let i = 0; i < sample.length; i += 32) await embedder.embed(sample.slice(i, i + 32));
    const embedMsPerDoc = Number(process.hrtime.bigint() - e0) / 1e6 / sample.length;
    const share = sourceUsPerDoc / 1000 / embedMsPerDoc;
    console.log(`embedding (${embedder.name}, ${sample.length}-document sample, batches of 32): ${embedMsPerDoc.toFixed(2)} ms/doc; source overhead = ${(share * 100).toFixed(2)} % of embedding time`);

    if (ingest) {
      console.log(
        `ingest (registered → source → shadowIngest → ${PG ? 'PostgreSQL' : 'PGlite'}, stand-in embedder): ${ingest.docs} docs → ${ingest.chunks} chunks in ${(ingest.wallMs / 1000).toFixed(0)} s; ` +
          `bookkeeping ${ingest.overheadMsPerDoc.toFixed(2)} ms/doc vs real embedding ${ingest.realEmbedMsPerDoc.toFixed(1)} ms/doc (${((ingest.overheadMsPerDoc / ingest.realEmbedMsPerDoc) * 100).toFixed(1)} %); ` +
          `peak RSS ${(ingest.peakRss / 1e6).toFixed(0)} MB (${(ingest.rssBefore / 1e6).toFixed(0)} MB before; limit ${(RSS_LIMIT / 1e9).toFixed(1)} GB: ${ingest.peakRss <= RSS_LIMIT ? 'met' : 'EXCEEDED'}); held ${ingest.retainedBytesPerDoc?.toFixed(0) ?? '?'} bytes/doc`,
      );
    }

    if (!process.argv.includes('--no-record')) {
      const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
      const section = `<!-- ingest-stream:begin -->
## Data: streamed corpus source (bench/ingest-stream.ts)

Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${load} at the end of
the run (other work on the same cores). Date: ${new Date().toISOString().slice(0, 10)}. A synthetic ${docs.toLocaleString('en-US')}-document JSONL file
(${(bytes / 1e6).toFixed(1)} MB, ~${Math.round(bytes / docs)} bytes a line, seeded) read through the JSONL source (line streaming, UTF-8 check, zod,
duplicate ids, per-document sha256) and the snapshot fingerprint, consumed in batches of ${BATCH}.

\`npx tsc -p bench/tsconfig.json && node --expose-gc .bakeoff/bench-build/bench/ingest-stream.js --docs ${DOCS} --embed-sample ${EMBED_SAMPLE}${INGEST ? ' --ingest' : ''}${PG ? ' --pg' : ''}\`

| measure | value | target |
|---|---|---|
| peak RSS during the pass (sampled every 1,000 documents) | ${(peakRss / 1e6).toFixed(0)} MB (${(rssBefore / 1e6).toFixed(0)} MB before) | ≤ 1,500 MB (${peakRss <= RSS_LIMIT ? 'met' : 'not met'}) |
| source layer per document, wall / CPU | ${sourceUsPerDoc.toFixed(1)} µs / ${sourceCpuUsPerDoc.toFixed(1)} µs | — |
| embedding per document (${embedder.name}, ${sample.length}-document sample) | ${embedMsPerDoc.toFixed(2)} ms | — |
| source overhead vs embedding | ${(share * 100).toFixed(2)} % | — |

What stays in memory is one batch of documents plus one line per document for the snapshot fingerprint and
the duplicate-id check (id + sha256), never the texts.
The embedding figure is one forward pass per document text (cut to the model's input limit), taken at
the load above, like the source figure: the ratio of the two, not either absolute time, is the result.
${ingest ? ingestSection(ingest) : ''}<!-- ingest-stream:end -->
`;
      const md = path.join(repoRoot, 'docs', 'benchmarks.md');
      const existing = fs.readFileSync(md, 'utf8');
      const re = /<!-- ingest-stream:begin -->[\s\S]*?<!-- ingest-stream:end -->\n?/;
      fs.writeFileSync(md, re.test(existing) ? existing.replace(re, section) : `${existing.trimEnd()}\n\n${section}`);
      console.log(`wrote ${path.relative(repoRoot, md)}`);
    }
    if (peakRss > RSS_LIMIT || (ingest && ingest.peakRss > RSS_LIMIT)) process.exitCode = 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
