/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Chunking with the real all-MiniLM-L6-v2 tokenizer (needs `bash scripts/provision/model.sh`).
// Corpus: Debian's license texts (/usr/share/common-licenses), real English prose present on every
// Debian machine.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import fc from 'fast-check';
import { chunkIdFor, overlapTokensFor, TokenAccurateChunker, type Chunk, type TokenCounter } from '../../src/rag/chunk';
import { Embedder } from '../../src/rag/embed';

const ID = { chunk_version: 'v_test', config_hash: 'f'.repeat(64) };
const GPL3 = fs.readFileSync('/usr/share/common-licenses/GPL-3', 'utf8');
const APACHE = fs.readFileSync('/usr/share/common-licenses/Apache-2.0', 'utf8');

let embedder: Embedder;
beforeAll(async () => {
  embedder = await Embedder.load();
});

function checkChunks(source: string, chunks: Chunk[], chunkSize: number, overlap: number): void {
  const bytes = Buffer.from(source, 'utf8');
  const seen = new Set<string>();
  chunks.forEach((c, i) => {
    expect(c.chunk_index).toBe(i);
    // Byte span addresses exactly the chunk text in the UTF-8 source.
    expect(bytes.subarray(c.byte_start, c.byte_end).toString('utf8')).toBe(c.text);
    // token_count is the tokenizer's own count of the whole chunk, within the cap.
    expect(c.token_count).toBe(embedder.countTokens(c.text));
    expect(c.token_count).toBeLessThanOrEqual(chunkSize);
    expect(c.chunk_id).toBe(createHash('sha1').update(`${c.doc_id}|${c.byte_start}-${c.byte_end}|${ID.chunk_version}|${ID.config_hash}`).digest('hex'));
    expect(seen.has(c.chunk_id)).toBe(false);
    seen.add(c.chunk_id);
    if (i > 0) {
      const prev = chunks[i - 1];
      expect(c.byte_start).toBeGreaterThan(prev.byte_start); // always moves forward
      // No word falls between two chunks: only whitespace may separate them.
      if (c.byte_start > prev.byte_end) expect(bytes.subarray(prev.byte_end, c.byte_start).toString('utf8')).toMatch(/^\s+$/);
      const shared = c.byte_start < prev.byte_end ? bytes.subarray(c.byte_start, prev.byte_end).toString('utf8') : '';
      expect(embedder.countTokens(shared)).toBeLessThanOrEqual(overlap);
    }
  });
  // Every word of the source is inside some chunk.
  const words = [...source.matchAll(/\S+/g)];
  if (words.length > 0) {
    const first = Buffer.byteLength(source.slice(0, words[0].index), 'utf8');
    const lastWord = words[words.length - 1];
    const last = Buffer.byteLength(source.slice(0, lastWord.index + lastWord[0].length), 'utf8');
    expect(chunks[0].byte_start).toBe(first);
    expect(chunks[chunks.length - 1].byte_end).toBe(last);
  }
}

describe('token counts are additive over whitespace words (the claim the chunker packs on)', () => {
  test.each([
    ['GPL-3', GPL3],
    ['Apache-2.0', APACHE],
  ])('%s: sum of per-word counts equals the whole-text count', (_name, text) => {
    const words = text.split(/\s+/).filter(Boolean);
    const sum = words.reduce((n, w) => n + embedder.countTokens(w), 0);
    expect(sum).toBe(embedder.countTokens(text));
    expect(sum).toBeGreaterThan(2000);
  });

  test('holds on generated text with punctuation, accents, CJK, emoji, controls and odd spaces', () => {
    const pieces = ['word', "don't", 'e.g.', 'naïve', 'Café', '日本語', '😀', 'x\u200By', 'a\u0007b', '\uFEFFbom', 'https://a.b/c?d=e', 'ﬁne', 'Ⅻ', '-', '...', 'a'.repeat(120)];
    const spaces = [' ', '\n', '\t', '\u00A0', '\u2003', '\u3000', '\u2028', '  \n '];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...pieces), fc.constantFrom(...spaces)), { minLength: 1, maxLength: 40 }), (parts) => {
        const text = parts.map(([w, s]) => w + s).join('');
        const sum = text.split(/\s+/).filter(Boolean).reduce((n, w) => n + embedder.countTokens(w), 0);
        expect(sum).toBe(embedder.countTokens(text));
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});

describe('TokenAccurateChunker with the real tokenizer', () => {
  test('measures that countTokens excludes special tokens', () => {
    expect(new TokenAccurateChunker(embedder, { chunkSize: 450, overlapTokens: 45 }).specialTokens).toBe(0);
  });

  test.each([
    [450, 0.1],
    [128, 0.25],
    [64, 0],
    [1000, 0.5],
  ])('GPL-3 at %i tokens, overlap %f: exact counts, byte spans, overlap, coverage', (size, ratio) => {
    const overlap = overlapTokensFor(size, ratio);
    const chunker = new TokenAccurateChunker(embedder, { chunkSize: size, overlapTokens: overlap });
    const chunks = chunker.chunk('gpl-3', GPL3, ID);
    checkChunks(GPL3, chunks, size, overlap);
    expect(chunker.stats.countMismatches).toBe(0);
    // Greedy packing fills chunks: all but the last are within one long word of the cap.
    for (const c of chunks.slice(0, -1)) expect(c.token_count).toBeGreaterThan(size - 25);
    // With overlap the total grows by roughly the overlap per boundary.
    const total = embedder.countTokens(GPL3);
    const stored = chunks.reduce((n, c) => n + c.token_count, 0);
    expect(stored).toBeGreaterThanOrEqual(total);
    expect(stored).toBeLessThanOrEqual(total + (chunks.length - 1) * overlap);
    if (overlap > 0) expect(stored).toBeGreaterThan(total + (chunks.length - 1) * (overlap - 25));
  });

  test('byte spans are UTF-8 offsets, not UTF-16 indices', () => {
    const text = 'Café naïve 日本語のテキスト 😀 emoji and more words. '.repeat(40);
    const chunker = new TokenAccurateChunker(embedder, { chunkSize: 40, overlapTokens: 4 });
    const chunks = chunker.chunk('multibyte', text, ID);
    checkChunks(text, chunks, 40, 4);
    const last = chunks[chunks.length - 1];
    expect(last.byte_end).toBe(Buffer.byteLength(text.trimEnd(), 'utf8'));
    expect(last.byte_end).toBeGreaterThan(text.trimEnd().length);
  });

  test('a word longer than a whole chunk is split at code points and still fits', () => {
    const longWord = Array.from({ length: 400 }, (_, i) => `k${i}`).join('.');
    const text = `intro words ${longWord} outro words`;
    const chunker = new TokenAccurateChunker(embedder, { chunkSize: 64, overlapTokens: 8 });
    const chunks = chunker.chunk('long-word', text, ID);
    expect(chunker.stats.oversizeWordsSplit).toBe(1);
    checkChunks(text, chunks, 64, 8);
    expect(chunks.map((c) => c.text).join('')).toContain('k399');
  });

  test('is deterministic and ids change with the config identity', () => {
    const a = new TokenAccurateChunker(embedder, { chunkSize: 200, overlapTokens: 20 }).chunk('apache', APACHE, ID);
    const b = new TokenAccurateChunker(embedder, { chunkSize: 200, overlapTokens: 20 }).chunk('apache', APACHE, ID);
    expect(b).toEqual(a);
    const other = chunkIdFor('apache', a[0].byte_start, a[0].byte_end, { ...ID, chunk_version: 'v_other' });
    expect(other).not.toBe(a[0].chunk_id);
  });

  test('empty and whitespace-only text give no chunks', () => {
    const chunker = new TokenAccurateChunker(embedder, { chunkSize: 64, overlapTokens: 8 });
    expect(chunker.chunk('e', '', ID)).toEqual([]);
    expect(chunker.chunk('e', ' \n\t ', ID)).toEqual([]);
  });
});

describe('when per-word counts under-estimate (not WordPiece)', () => {
  // A made-up tokenizer whose count is NOT additive (each line break costs a token only inside a
  // longer text). WordPiece never does this, so this double exists only to exercise the trim path.
  const lineBreakTokenizer: TokenCounter = {
    countTokens: (t) => t.split(/\s+/).filter(Boolean).length + (t.match(/\n/g)?.length ?? 0),
  };

  test('chunks are verified whole, trimmed to fit, and the disagreement is reported', () => {
    const text = Array.from({ length: 200 }, (_, i) => `w${i}${i % 3 === 0 ? '\n' : ' '}`).join('');
    const chunker = new TokenAccurateChunker(lineBreakTokenizer, { chunkSize: 30, overlapTokens: 3 });
    const chunks = chunker.chunk('d', text, ID);
    expect(chunker.stats.countMismatches).toBeGreaterThan(0);
    for (const c of chunks) {
      expect(c.token_count).toBe(lineBreakTokenizer.countTokens(c.text));
      expect(c.token_count).toBeLessThanOrEqual(30);
    }
    expect(chunks[chunks.length - 1].text.endsWith('w199')).toBe(true);
  });
});
