// An extractive reader: picks the span of the passed passages that best answers the question, by
// query-term overlap and embedding similarity of each sentence, with a mild prior for better-ranked
// passages. Scored against the gold answer with SQuAD's token F1 / precision; reader_used_gold says
// whether the chosen span came from the gold document.
import { sentenceEnds } from '../data/answer-span';
import { contentTerms, termOverlap } from './terms';

export interface ReaderPassage {
  chunk_id: string;
  doc_id: string;
  text: string;
}

export interface SentenceEncoder {
  embed(texts: string[]): Promise<Float32Array[]>;
}

export interface ReaderOptions {
  /** Sentences (by lexical score) whose embeddings are compared with the question's. */
  maxCandidates?: number;
  lexicalWeight?: number;
  semanticWeight?: number;
  /** Added as weight / passage rank: ties between equally good sentences go to the better passage. */
  rankPrior?: number;
  /** A sentence shorter than this is extended by the next one (an answer is rarely a fragment). */
  minSpanChars?: number;
}

export interface ReaderAnswer {
  answer: string;
  chunk_id: string | null;
  doc_id: string | null;
  /** 1-based rank of the passage the answer came from. */
  passageRank: number | null;
  score: number;
}

interface Span {
  text: string;
  passage: number;
  order: number;
}

const DEFAULTS: Required<ReaderOptions> = { maxCandidates: 24, lexicalWeight: 0.5, semanticWeight: 0.5, rankPrior: 0.05, minSpanChars: 80 };
/** A contextual prefix line ("Document: <title>") is context for the embedder, not answer text. */
const PREFIX_LINE = /^Document: [^\n]*\n/;

/** Candidate spans: each sentence of each paragraph, extended by the next sentence when short. */
export function candidateSpans(passages: readonly ReaderPassage[], minSpanChars = DEFAULTS.minSpanChars): Span[] {
  const spans: Span[] = [];
  passages.forEach((p, passage) => {
    for (const paragraph of p.text.replace(PREFIX_LINE, '').split(/\n\s*\n/)) {
      const text = paragraph.replace(/\s+/g, ' ').trim();
      if (text.length < 15) continue;
      const ends = sentenceEnds(text);
      let start = 0;
      ends.forEach((end, i) => {
        let stop = end;
        if (stop - start < minSpanChars && i + 1 < ends.length) stop = ends[i + 1];
        const s = text.slice(start, stop).trim();
        if (s.length >= 15) spans.push({ text: s, passage, order: spans.length });
        start = end;
      });
    }
  });
  return spans;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Picks the best span. With an encoder and the question's (unit) vector, the top lexical candidates
 * are re-scored with embedding similarity; without one the reader is purely lexical.
 */
export async function readAnswer(
  question: string,
  passages: readonly ReaderPassage[],
  semantic: { encoder: SentenceEncoder; queryVector: Float32Array } | null,
  options: ReaderOptions = {},
): Promise<ReaderAnswer> {
  const o = { ...DEFAULTS, ...options };
  const spans = candidateSpans(passages, o.minSpanChars);
  if (spans.length === 0) return { answer: '', chunk_id: null, doc_id: null, passageRank: null, score: 0 };
  const qTerms = contentTerms(question);
  const lexical = spans.map((s) => termOverlap(qTerms, s.text));
  const prior = spans.map((s) => o.rankPrior / (s.passage + 1));
  const shortlist = spans
    .map((s, i) => i)
    .sort((a, b) => lexical[b] + prior[b] - (lexical[a] + prior[a]) || a - b)
    .slice(0, o.maxCandidates);
  const semanticScore = new Map<number, number>();
  if (semantic) {
    const vectors = await semantic.encoder.embed(shortlist.map((i) => spans[i].text));
    shortlist.forEach((i, j) => semanticScore.set(i, dot(semantic.queryVector, vectors[j])));
  }
  let best = shortlist[0];
  let bestScore = -Infinity;
  for (const i of shortlist) {
    const score = o.lexicalWeight * lexical[i] + (semantic ? o.semanticWeight * (semanticScore.get(i) ?? 0) : 0) + prior[i];
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  const p = passages[spans[best].passage];
  return { answer: spans[best].text, chunk_id: p.chunk_id, doc_id: p.doc_id, passageRank: spans[best].passage + 1, score: bestScore };
}

/** SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces. */
export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/[!-/:-@[-`{-~]/g, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface TokenScores {
  f1: number;
  precision: number;
  recall: number;
}

/** SQuAD token F1: overlap of the normalised token multisets of prediction and gold. */
export function tokenF1(prediction: string, gold: string): TokenScores {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const g = normalizeAnswer(gold).split(' ').filter(Boolean);
  if (p.length === 0 || g.length === 0) {
    const same = p.length === g.length ? 1 : 0;
    return { f1: same, precision: same, recall: same };
  }
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      common++;
      counts.set(t, n - 1);
    }
  }
  if (common === 0) return { f1: 0, precision: 0, recall: 0 };
  const precision = common / p.length;
  const recall = common / g.length;
  return { f1: (2 * precision * recall) / (precision + recall), precision, recall };
}
