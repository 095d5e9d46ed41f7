// The corpus source layer at scale: a synthetic 100,000-document JSONL file (written here, seeded) read
// through src/data/sources (JSONL source: line streaming, UTF-8 check, zod validation, duplicate-id
// check, per-document sha256) plus the snapshot fingerprint, consumed in batches of 64 documents as the
// ingest consumes them. Prints peak RSS during the pass (target ≤ 1.5 GB) and the source layer's
// per-document cost against the embedding time of the same documents (the provisioned MiniLM model,
// on a sample), then records both in docs/benchmarks.md between the ingest-stream markers.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/ingest-stream.js [--docs 100000] [--embed-sample 256] [--no-record]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JsonlSource } from '../src/data/sources/jsonl-source';
import { CorpusFingerprinter } from '../src/rag/corpus-fingerprint';
import { seededRandom } from '../src/platform/seeded-random';
import { Embedder } from '../src/rag/embed';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const DOCS = Number(arg('docs', '100000'));
const EMBED_SAMPLE = Number(arg('embed-sample', '256'));
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

    const embedder = await Embedder.load();
    await embedder.embed(['warm-up sentence']);
    const e0 = process.hrtime.bigint();
    for (let i = 0; i < sample.length; i += 32) await embedder.embed(sample.slice(i, i + 32));
    const embedMsPerDoc = Number(process.hrtime.bigint() - e0) / 1e6 / sample.length;
    const share = sourceUsPerDoc / 1000 / embedMsPerDoc;
    console.log(`embedding (${embedder.name}, ${sample.length}-document sample, batches of 32): ${embedMsPerDoc.toFixed(2)} ms/doc; source overhead = ${(share * 100).toFixed(2)} % of embedding time`);

    if (!process.argv.includes('--no-record')) {
      const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
      const section = `<!-- ingest-stream:begin -->
## Data: streamed corpus source (bench/ingest-stream.ts)

Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${load} at the end of
the run (other work on the same cores). Date: ${new Date().toISOString().slice(0, 10)}. A synthetic ${docs.toLocaleString('en-US')}-document JSONL file
(${(bytes / 1e6).toFixed(1)} MB, ~${Math.round(bytes / docs)} bytes a line, seeded) read through the JSONL source (line streaming, UTF-8 check, zod,
duplicate ids, per-document sha256) and the snapshot fingerprint, consumed in batches of ${BATCH}.

\`npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/ingest-stream.js --docs ${DOCS} --embed-sample ${EMBED_SAMPLE}\`

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
<!-- ingest-stream:end -->
`;
      const md = path.join(repoRoot, 'docs', 'benchmarks.md');
      const existing = fs.readFileSync(md, 'utf8');
      const re = /<!-- ingest-stream:begin -->[\s\S]*?<!-- ingest-stream:end -->\n?/;
      fs.writeFileSync(md, re.test(existing) ? existing.replace(re, section) : `${existing.trimEnd()}\n\n${section}`);
      console.log(`wrote ${path.relative(repoRoot, md)}`);
    }
    if (peakRss > RSS_LIMIT) process.exitCode = 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
