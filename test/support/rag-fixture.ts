// Shared set-up for the retrieval tests: the real MiniLM embedder, the real FAQ subset, locked configs
// with the real tokenizer identity, and an ingest into a real database.
//
// Embedding a few hundred 450-token chunks costs a minute or more on two shared cores, so chunk vectors
// are remembered by (model sha256, text sha1) in <cacheDir>/test-embeddings/: the vectors are the real
// model's own output from an earlier run of the same model file (a different model file gets another
// cache). Queries and everything a test checks about embedding itself still run the model live.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../../src/platform/paths';
import type { Dataset } from '../../src/data/dataset';
import { subsetForTests } from '../../src/data/dataset';
import type { Db } from '../../src/platform/db';
import { defaultBaseline, defaultCandidate, lockConfig, type LockedConfig } from '../../src/rag/config';
import { Embedder } from '../../src/rag/embed';
import { shadowIngest, type IngestReport } from '../../src/rag/ingest';

let shared: Promise<Embedder> | undefined;
export function realEmbedder(): Promise<Embedder> {
  shared ??= Embedder.load();
  return shared;
}

/**
 * The real embedder with its vectors remembered by text. The vectors are the model's own; the memo
 * only spares repeated forward passes across the tests of one file.
 */
export class MemoEmbedder {
  private readonly memo = new Map<string, Float32Array>();
  private readonly file: string;
  forwardPasses = 0;
  constructor(readonly inner: Embedder) {
    this.file = path.join(process.env.BAKEOFF_TEST_EMBED_CACHE ?? path.join(cacheDir, 'test-embeddings'), `${inner.modelHash.slice(0, 16)}.jsonl`);
    if (fs.existsSync(this.file)) {
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          const { k, v } = JSON.parse(line) as { k: string; v: string };
          const buf = Buffer.from(v, 'base64');
          const vec = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
          if (vec.length === inner.dims) this.memo.set(k, vec);
        } catch {
          // A torn line from an interrupted run: that text is embedded again.
        }
      }
    }
  }
  private static key(text: string): string {
    return createHash('sha1').update(text).digest('hex');
  }
  get name() { return this.inner.name; }
  get modelId() { return this.inner.modelId; }
  get dims() { return this.inner.dims; }
  get maxTokens() { return this.inner.maxTokens; }
  get tokenizerHash() { return this.inner.tokenizerHash; }
  countTokens(text: string) { return this.inner.countTokens(text); }
  embeddingTokens(text: string) { return this.inner.embeddingTokens(text); }
  /** Chunk batches: remembered across runs. */
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const missing = [...new Set(texts.filter((t) => !this.memo.has(MemoEmbedder.key(t))))];
    if (missing.length > 0) {
      this.forwardPasses += missing.length;
      const vs = await this.inner.embed(missing);
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const lines = missing.map((t, i) => {
        this.memo.set(MemoEmbedder.key(t), vs[i]);
        return JSON.stringify({ k: MemoEmbedder.key(t), v: Buffer.from(vs[i].buffer, vs[i].byteOffset, vs[i].byteLength).toString('base64') });
      });
      fs.appendFileSync(this.file, lines.join('\n') + '\n');
    }
    return texts.map((t) => this.memo.get(MemoEmbedder.key(t))!);
  }
  /** Queries: always a live forward pass. */
  embedOne(text: string): Promise<Float32Array> {
    return this.inner.embedOne(text);
  }
}

export function identityOf(e: { name: string; tokenizerHash: string }) {
  return { embedder: e.name, tokenizer: e.name, tokenizer_hash: e.tokenizerHash };
}

export function candidateConfig(e: { name: string; tokenizerHash: string }, chunkVersion = 'v450_o10_j80_a'): LockedConfig {
  return lockConfig(defaultCandidate(identityOf(e), chunkVersion), new Date('2026-11-22T00:00:00Z'));
}

export function baselineConfig(e: { name: string; tokenizerHash: string }, chunkVersion = 'v512_o0_nodedup'): LockedConfig {
  return lockConfig(defaultBaseline(identityOf(e), chunkVersion), new Date('2026-11-22T00:00:00Z'));
}

export function faqSubset(n: number): Promise<Dataset> {
  return subsetForTests(n);
}

export async function ingestInto(db: Db, config: LockedConfig, dataset: Dataset, embedder: MemoEmbedder, table?: string): Promise<IngestReport> {
  return shadowIngest({ db, config, docs: dataset.docs, embedder, table });
}
