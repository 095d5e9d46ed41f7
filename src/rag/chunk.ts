// Token-accurate chunking with the embedder's own tokenizer. BERT WordPiece pre-tokenises on
// whitespace (JS \s, the same class transformers.js uses) and punctuation, and never merges across
// whitespace, so the content-token count of a span equals the sum of its whitespace words' counts.
// We pack on per-word counts (cached, cheap) and then verify every chunk with one whole-text count;
// a chunk that disagrees is trimmed until it fits, and the disagreement is reported.
import { createHash } from 'node:crypto';

/** The only thing chunking needs from an embedder. */
export interface TokenCounter {
  /** Tokens the embedder's tokenizer produces for text (with or without special tokens: measured). */
  countTokens(text: string): number;
}

export interface ChunkOptions {
  chunkSize: number;
  /** round(chunk_size * overlap_ratio): tokens repeated at the start of the next chunk. */
  overlapTokens: number;
}

export interface ChunkIdentity {
  chunk_version: string;
  config_hash: string;
}

export interface Chunk {
  chunk_id: string;
  doc_id: string;
  chunk_index: number;
  /** UTF-8 byte offsets into the document text, half-open [byte_start, byte_end). */
  byte_start: number;
  byte_end: number;
  text: string;
  /** Content tokens (no [CLS]/[SEP]), verified against the tokenizer on the whole chunk text. */
  token_count: number;
}

export interface ChunkStats {
  chunks: number;
  /** Chunks whose whole-text count differed from the sum of per-word counts (expected 0 for WordPiece). */
  countMismatches: number;
  /** Words longer than a whole chunk, split at code-point boundaries. */
  oversizeWordsSplit: number;
  maxTokens: number;
}

export function overlapTokensFor(chunkSize: number, overlapRatio: number): number {
  return Math.round(chunkSize * overlapRatio);
}

/** sha1(doc_id|byte_start-byte_end|chunk_version|config_hash): the same span under the same config is the same row. */
export function chunkIdFor(docId: string, byteStart: number, byteEnd: number, id: ChunkIdentity): string {
  return createHash('sha1').update(`${docId}|${byteStart}-${byteEnd}|${id.chunk_version}|${id.config_hash}`).digest('hex');
}

interface Unit {
  charStart: number;
  charEnd: number;
  byteStart: number;
  byteEnd: number;
  tokens: number;
}

const WORD = /\S+/g;
const WORD_CACHE_LIMIT = 1_000_000;
/** A whitespace-free run longer than chunkSize × this many characters is split without counting it whole. */
const LONG_WORD_CHARS_PER_TOKEN = 16;
/** One ASCII or Unicode punctuation character, or a run of anything else (BERT's pre-tokenizer splits there). */
const PUNCTUATION_SEGMENT = /[!-/:-@[-`{-~\p{P}]|[^!-/:-@[-`{-~\p{P}]+/gu;

export class TokenAccurateChunker {
  /** Special tokens countTokens adds to any text (2 for [CLS] … [SEP], 0 if it counts content only). */
  readonly specialTokens: number;
  private readonly wordCache = new Map<string, number>();
  readonly stats: ChunkStats = { chunks: 0, countMismatches: 0, oversizeWordsSplit: 0, maxTokens: 0 };

  constructor(
    private readonly counter: TokenCounter,
    private readonly opts: ChunkOptions,
  ) {
    if (!Number.isInteger(opts.chunkSize) || opts.chunkSize < 1) throw new Error(`chunkSize must be a positive integer, got ${opts.chunkSize}`);
    if (!Number.isInteger(opts.overlapTokens) || opts.overlapTokens < 0 || opts.overlapTokens >= opts.chunkSize) {
      throw new Error(`overlapTokens must be an integer in [0, chunkSize), got ${opts.overlapTokens}`);
    }
    // c("a") = 1 + s and c("a a") = 2 + s for any tokenizer that keeps "a" whole, so s = 2c("a") - c("a a").
    this.specialTokens = 2 * counter.countTokens('a') - counter.countTokens('a a');
  }

  /** Content tokens of text (the tokenizer's count minus its special tokens). */
  contentTokens(text: string): number {
    return this.counter.countTokens(text) - this.specialTokens;
  }

  private wordTokens(word: string): number {
    let n = this.wordCache.get(word);
    if (n === undefined) {
      n = this.contentTokens(word);
      if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
      this.wordCache.set(word, n);
    }
    return n;
  }

  /** Whitespace words with char and byte offsets and token counts; over-long words split to fit. */
  private units(text: string): Unit[] {
    const out: Unit[] = [];
    let bytePos = 0;
    let charPos = 0;
    for (const m of text.matchAll(WORD)) {
      const start = m.index;
      const word = m[0];
      bytePos += Buffer.byteLength(text.slice(charPos, start), 'utf8');
      const wordBytes = Buffer.byteLength(word, 'utf8');
      if (word.length > this.longWordChars) {
        // A run this long without whitespace (a base64 blob, minified code) is never counted whole
        // (that tokenizes megabytes at once): it is cut at punctuation, which WordPiece also never
        // merges across, and only the pieces still too long are split further.
        this.stats.oversizeWordsSplit++;
        let c = start;
        let b = bytePos;
        for (const seg of word.match(PUNCTUATION_SEGMENT) ?? []) {
          const segBytes = Buffer.byteLength(seg, 'utf8');
          out.push(...this.fitUnits(seg, c, b, false));
          c += seg.length;
          b += segBytes;
        }
      } else {
        out.push(...this.fitUnits(word, start, bytePos, true));
      }
      bytePos += wordBytes;
      charPos = start + word.length;
    }
    return out;
  }

  /** The word as one unit when it fits in a chunk, else split into pieces that do. */
  private fitUnits(word: string, charStart: number, byteStart: number, countSplit: boolean): Unit[] {
    const tokens = word.length > this.longWordChars ? Infinity : this.wordTokens(word);
    if (tokens <= this.opts.chunkSize) {
      return [{ charStart, charEnd: charStart + word.length, byteStart, byteEnd: byteStart + Buffer.byteLength(word, 'utf8'), tokens }];
    }
    if (countSplit) this.stats.oversizeWordsSplit++;
    return this.splitWord(word, charStart, byteStart);
  }

  private get longWordChars(): number {
    return this.opts.chunkSize * LONG_WORD_CHARS_PER_TOKEN;
  }

  /**
   * Greedy longest prefixes that each fit in one chunk. The search gallops (probe lengths double from
   * chunkSize code points) before it bisects, so each probe tokenizes about one piece, not the rest of
   * the word: a 100 kB run without whitespace used to take minutes (every probe tokenized it whole).
   * Under monotone token counts the pieces are the same as a bisection over the whole word.
   */
  private splitWord(word: string, charStart: number, byteStart: number): Unit[] {
    const cps = Array.from(word);
    const out: Unit[] = [];
    let i = 0;
    let charPos = charStart;
    let bytePos = byteStart;
    const fits = (end: number) => this.contentTokens(cps.slice(i, end).join('')) <= this.opts.chunkSize;
    while (i < cps.length) {
      let good = i + 1; // one code point always goes in: it cannot be split further
      let bad = -1;
      for (let probe = Math.min(cps.length, i + this.opts.chunkSize); ; ) {
        if (!fits(probe)) {
          bad = probe;
          break;
        }
        good = probe;
        if (probe === cps.length) break;
        probe = Math.min(cps.length, i + (probe - i) * 2);
      }
      if (bad !== -1) {
        let lo = good;
        let hi = bad - 1;
        while (lo < hi) {
          const mid = Math.ceil((lo + hi) / 2);
          if (fits(mid)) lo = mid;
          else hi = mid - 1;
        }
        good = Math.max(lo, i + 1);
      }
      const piece = cps.slice(i, good).join('');
      const bytes = Buffer.byteLength(piece, 'utf8');
      out.push({ charStart: charPos, charEnd: charPos + piece.length, byteStart: bytePos, byteEnd: bytePos + bytes, tokens: this.contentTokens(piece) });
      charPos += piece.length;
      bytePos += bytes;
      i = good;
    }
    return out;
  }

  chunk(docId: string, text: string, id: ChunkIdentity): Chunk[] {
    const units = this.units(text);
    const { chunkSize, overlapTokens } = this.opts;
    const chunks: Chunk[] = [];
    let start = 0;
    while (start < units.length) {
      let end = start;
      let predicted = 0;
      while (end < units.length && predicted + units[end].tokens <= chunkSize) predicted += units[end++].tokens;
      // The verification count is the truth; trim from the end if the per-word sum under-estimated.
      let body = text.slice(units[start].charStart, units[end - 1].charEnd);
      let actual = this.contentTokens(body);
      if (actual !== predicted) this.stats.countMismatches++;
      while (actual > chunkSize && end - start > 1) {
        end--;
        body = text.slice(units[start].charStart, units[end - 1].charEnd);
        actual = this.contentTokens(body);
      }
      const byteStart = units[start].byteStart;
      const byteEnd = units[end - 1].byteEnd;
      chunks.push({
        chunk_id: chunkIdFor(docId, byteStart, byteEnd, id),
        doc_id: docId,
        chunk_index: chunks.length,
        byte_start: byteStart,
        byte_end: byteEnd,
        text: body,
        token_count: actual,
      });
      this.stats.chunks++;
      this.stats.maxTokens = Math.max(this.stats.maxTokens, actual);
      if (end >= units.length) break;
      // Next chunk starts with the longest run of trailing words that fits in the overlap budget,
      // always moving forward by at least one word.
      let next = end;
      let carried = 0;
      while (next - 1 > start && carried + units[next - 1].tokens <= overlapTokens) {
        carried += units[next - 1].tokens;
        next--;
      }
      start = next;
    }
    return chunks;
  }
}
