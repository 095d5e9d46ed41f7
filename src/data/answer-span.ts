// Picks the extractive gold answer inside an FAQ answer: the opening sentence(s) of the first real
// prose paragraph. Attribution lines ("(contributed by brian d foy)"), bare "Yes."/"No." and code are
// skipped, because a reader scored against them would be scored against nothing informative.
import { Paragraph, PARAGRAPH_SEPARATOR } from './doc-section';

export interface AnswerSpan {
  start: number;
  end: number;
  text: string;
}

/** A prose paragraph shorter than this is not where the answer is (e.g. "Yes."). */
const MIN_PARAGRAPH_CHARS = 30;
/** One sentence shorter than this is extended by the next one ("first 1–2 sentences"). */
const MIN_SPAN_CHARS = 80;

const ABBREVIATIONS = /(?:\b(?:e\.g|i\.e|eg|ie|etc|vs|cf|approx|Mr|Mrs|Dr|No|Fig|al|ca|resp|viz)|\.\.)\.$/i;

/** End offsets (exclusive) of the sentences in a prose paragraph. */
export function sentenceEnds(text: string): number[] {
  const ends: number[] = [];
  const boundary = /[.!?]+["')\]]*(?=\s+(\S)|$)/g;
  for (let m = boundary.exec(text); m !== null; m = boundary.exec(text)) {
    const end = m.index + m[0].length;
    const next = m[1];
    if (next !== undefined && /[a-z]/.test(next)) continue; // "e.g. foo", "1.5 times"
    if (ABBREVIATIONS.test(text.slice(Math.max(0, m.index - 8), m.index + 1))) continue;
    if (/\d$/.test(text.slice(0, m.index)) && /^\.\d/.test(text.slice(m.index))) continue;
    ends.push(end);
  }
  if (ends.length === 0 || ends[ends.length - 1] < text.length) ends.push(text.length);
  return ends;
}

function isAttribution(text: string): boolean {
  // "(contributed by …)", "(partly contributed by …)", "(portions of this answer contributed by …)".
  return /^\([^()]*\b(?:contributed|written|updated) by\b[^()]*\)$/i.test(text.trim());
}

/** The gold span in `paragraphs` joined by PARAGRAPH_SEPARATOR, or null when there is no usable prose. */
export function pickAnswerSpan(paragraphs: Paragraph[]): AnswerSpan | null {
  let offset = 0;
  for (const p of paragraphs) {
    const usable = p.kind === 'prose' && p.text.length >= MIN_PARAGRAPH_CHARS && !isAttribution(p.text);
    if (usable) {
      // A list item's marker ("- ", "2. ") is layout, not part of the answer.
      const skip = /^(?:[-*] |\d+[.)] |#\. )/.exec(p.text)?.[0].length ?? 0;
      const ends = sentenceEnds(p.text.slice(skip)).map((e) => e + skip);
      let end = ends[0];
      if (end - skip < MIN_SPAN_CHARS && ends.length > 1) end = ends[1];
      return { start: offset + skip, end: offset + end, text: p.text.slice(skip, end) };
    }
    offset += p.text.length + PARAGRAPH_SEPARATOR.length;
  }
  return null;
}
