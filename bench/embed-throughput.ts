// Embedding throughput on this machine: model load time, embeddings/s through embed() (tokenise +
// forward + pool + normalise) and through rawForward() on the same pre-tokenised batches, for each
// provisioned model and variant. Also how far a vector moves when its batch neighbours change.
// Run: npx tsc --outDir .bakeoff/bench-build --rootDir . --module commonjs --target es2022 \
//        --esModuleInterop --skipLibCheck --types node bench/embed-throughput.ts && \
//      node .bakeoff/bench-build/bench/embed-throughput.js [--texts 128] [--tokens 450] [--batch 32]
//        [--models all-MiniLM-L6-v2,bge-small-en-v1.5] [--variants quantized,fp32]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cosine, Embedder, type TokenBatch } from '../src/rag/embed';
import { modelsDir } from '../src/platform/paths';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const N_TEXTS = arg('texts', 128);
const TOKENS = arg('tokens', 450);
const BATCH = arg('batch', 32);
const listArg = (name: string, fallback: string): string[] => {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : fallback).split(',');
};
const MODELS = listArg('models', 'all-MiniLM-L6-v2,bge-small-en-v1.5');
const VARIANTS = listArg('variants', 'quantized,fp32');

/** Real English prose (package READMEs installed with the project), cut into ~TOKENS-token texts. */
function corpusTexts(e: Embedder): string[] {
  const nm = path.dirname(path.dirname(require.resolve('zod/package.json')));
  const words: string[] = [];
  for (const dir of fs.readdirSync(nm).sort()) {
    const readme = path.join(nm, dir, 'README.md');
    if (fs.existsSync(readme)) words.push(...fs.readFileSync(readme, 'utf8').replace(/[`#*|<>\[\]()]/g, ' ').split(/\s+/).filter(Boolean));
    if (words.length > N_TEXTS * TOKENS) break;
  }
  const texts: string[] = [];
  let w = 0;
  while (texts.length < N_TEXTS) {
    let text = '';
    // Grow by words until the embedder's own tokenizer says we reached the budget.
    while (w < words.length) {
      const next = text ? `${text} ${words[w]}` : words[w];
      if (e.countTokens(next) > TOKENS) {
        if (!text) w++; // a single word over the budget (a long URL): skip it
        else break;
        continue;
      }
      text = next;
      w++;
    }
    if (w >= words.length) w = 0;
    texts.push(text);
  }
  return texts;
}

/** Wall seconds, and CPU seconds of this process (the machine is shared: wall time alone misleads). */
async function timeIt<T>(fn: () => Promise<T>): Promise<[T, number, number]> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const r = await fn();
  const c = process.cpuUsage(c0);
  return [r, Number(process.hrtime.bigint() - t0) / 1e9, (c.user + c.system) / 1e6];
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (const name of MODELS) {
    for (const quantized of VARIANTS.map((v) => v === 'quantized')) {
      const file = path.join(modelsDir, name, 'onnx', quantized ? 'model_quantized.onnx' : 'model.onnx');
      if (!fs.existsSync(file)) {
        console.error(`skip ${name} ${quantized ? 'quantized' : 'fp32'}: ${file} missing`);
        continue;
      }
      const [e, loadS] = await timeIt(() => Embedder.load(name, { quantized }));
      const texts = corpusTexts(e);
      const meanTokens = texts.reduce((s, t) => s + e.embeddingTokens(t), 0) / texts.length;
      await e.embed(texts.slice(0, 2)); // warm-up: first run allocates the session's buffers
      const [vecs, embedS, embedCpu] = await timeIt(() => e.embed(texts, { batchSize: BATCH }));
      // The raw model on the very batches embed() built (same length-sorted order and padding).
      const order = texts.map((_, i) => i).sort((a, b) => e.embeddingTokens(texts[a]) - e.embeddingTokens(texts[b]) || a - b);
      const batches: TokenBatch[] = [];
      for (let s = 0; s < order.length; s += BATCH) batches.push(e.tokenizeBatch(order.slice(s, s + BATCH).map((i) => texts[i])));
      const [, rawS, rawCpu] = await timeIt(async () => {
        for (const b of batches) await e.rawForward(b);
      });
      const sample = texts.slice(0, Math.min(16, texts.length));
      const [single, singleS, singleCpu] = await timeIt(() => e.embed(sample, { batchSize: 1 }));
      const drift = Math.max(...single.map((v, i) => 1 - cosine(v, vecs[i])));
      rows.push({
        model: name,
        variant: quantized ? 'quantized' : 'fp32',
        loadS: +loadS.toFixed(2),
        meanTokens: +meanTokens.toFixed(0),
        embedPerS: +(texts.length / embedS).toFixed(1),
        rawPerS: +(texts.length / rawS).toFixed(1),
        pipelineVsRaw: +(rawS / embedS).toFixed(3),
        embedPerCpuS: +(texts.length / embedCpu).toFixed(2),
        rawPerCpuS: +(texts.length / rawCpu).toFixed(2),
        batch1PerS: +(sample.length / singleS).toFixed(1),
        batch1PerCpuS: +(sample.length / singleCpu).toFixed(2),
        maxCosDriftBatch1VsBatch: drift.toExponential(2),
      });
      console.error(JSON.stringify(rows[rows.length - 1]));
    }
  }
  console.table(rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
