/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Prefix policies and the embedding-token budget, counted with the real all-MiniLM-L6-v2 tokenizer.
import * as fs from 'node:fs';
import { TokenAccurateChunker } from '../../src/rag/chunk';
import { Embedder } from '../../src/rag/embed';
import { applyPrefixPolicy, contextualPrefix, EmbeddingBudgetError } from '../../src/rag/prefix';

const GPL3 = fs.readFileSync('/usr/share/common-licenses/GPL-3', 'utf8');
let embedder: Embedder;
let chunks: { text: string; token_count: number }[];
beforeAll(async () => {
  embedder = await Embedder.load();
  chunks = new TokenAccurateChunker(embedder, { chunkSize: 450, overlapTokens: 45 }).chunk('gpl3', GPL3, { chunk_version: 'v1', config_hash: 'x' });
});

test('the prefix is one line naming the title; no title, no prefix', () => {
  expect(contextualPrefix('  perlfaq4:\n  Data   Manipulation ')).toBe('Document: perlfaq4: Data Manipulation\n');
  expect(contextualPrefix(' \n ')).toBe('');
});

test('policy A: prefix in embedding_text only; B: in both; none: in neither', () => {
  const chunk = chunks[1];
  const a = applyPrefixPolicy('A', 'GNU GPL v3', chunk.text, embedder);
  expect(a.embedding_text).toBe(`Document: GNU GPL v3\n${chunk.text}`);
  expect(a.bm25_text).toBe(chunk.text);
  const b = applyPrefixPolicy('B', 'GNU GPL v3', chunk.text, embedder);
  expect(b.bm25_text).toBe(b.embedding_text);
  expect(b.bm25_text.startsWith('Document: GNU GPL v3\n')).toBe(true);
  const none = applyPrefixPolicy('none', 'GNU GPL v3', chunk.text, embedder);
  expect([none.embedding_text, none.bm25_text]).toEqual([chunk.text, chunk.text]);
});

test('embedding tokens from the chunker count + the prefix equal a full count of the embedding text', () => {
  const titles = ['GNU GPL v3', 'perlfaq4: How do I sort an array by (anything)?', 'Ünïcödé 日本語 title…', 'x'];
  for (const [i, chunk] of chunks.entries()) {
    const title = titles[i % titles.length];
    const fast = applyPrefixPolicy('A', title, chunk.text, embedder, { chunkTokens: chunk.token_count, modelMaxTokens: 512 });
    const full = applyPrefixPolicy('A', title, chunk.text, embedder, { modelMaxTokens: 512 });
    expect(fast).toEqual(full);
    expect(fast.embedding_tokens).toBe(embedder.embeddingTokens(fast.embedding_text)); // [CLS] … [SEP] included
  }
});

test('a long title is shortened so the prefix never pushes a chunk past the model limit', () => {
  const chunk = chunks.find((c) => c.token_count >= 440)!;
  const title = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
  const p = applyPrefixPolicy('A', title, chunk.text, embedder, { modelMaxTokens: 512, chunkTokens: chunk.token_count });
  expect(p.prefix_trimmed).toBe(true);
  expect(p.embedding_tokens).toBeLessThanOrEqual(512);
  expect(p.embedding_tokens).toBe(embedder.embeddingTokens(p.embedding_text));
  expect(p.embedding_text).toMatch(/^Document: word0 word1 /);
  expect(p.bm25_text).toBe(chunk.text);
  // Without a model limit only the 1024 guardrail applies and the whole title fits.
  const loose = applyPrefixPolicy('A', title, chunk.text, embedder);
  expect(loose.prefix_trimmed).toBe(false);
  expect(loose.embedding_tokens).toBeGreaterThan(512);
  expect(loose.embedding_tokens).toBeLessThanOrEqual(1024);
});

test('a chunk over the model limit on its own keeps no prefix; over the hard budget it is an error', () => {
  const big = `${chunks[0].text} ${chunks[1].text}`; // ~ 900 tokens
  const p = applyPrefixPolicy('A', 'Title', big, embedder, { modelMaxTokens: 512 });
  expect(p.embedding_text).toBe(big);
  expect(p.prefix_trimmed).toBe(true);
  expect(p.embedding_tokens).toBe(embedder.embeddingTokens(big));
  expect(() => applyPrefixPolicy('A', 'Title', big, embedder, { budget: 600 })).toThrow(EmbeddingBudgetError);
  expect(() => applyPrefixPolicy('none', 'Title', big, embedder, { budget: 600 })).toThrow(/over the budget of 600/);
});
