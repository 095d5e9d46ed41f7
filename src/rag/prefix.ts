// Contextual prefix policy. The prefix ("Document: <title>") helps the dense embedding place a chunk,
// but in the BM25 text it would make every chunk of a document match its title words, so policy A
// keeps it out of bm25_text. B puts it in both (the variant the bakeoff can compare); 'none' is the
// baseline without a prefix.
import { GUARDRAILS } from './config';
import type { TokenCounter } from './chunk';

export type PrefixPolicy = 'A' | 'B' | 'none';

export const PREFIX_MARKER = 'Document: ';

/** `Document: <title>\n`, title on one line; '' when there is no title to give. */
export function contextualPrefix(title: string): string {
  const t = title.replace(/\s+/g, ' ').trim();
  return t ? `${PREFIX_MARKER}${t}\n` : '';
}

/** Counts what the model sees: embeddingTokens (special tokens included) when the embedder has it. */
export interface EmbeddingTokenCounter extends TokenCounter {
  embeddingTokens?(text: string): number;
}

export function embeddingTokensOf(counter: EmbeddingTokenCounter, text: string): number {
  return counter.embeddingTokens ? counter.embeddingTokens(text) : counter.countTokens(text);
}

export interface PrefixedTexts {
  embedding_text: string;
  bm25_text: string;
  /** Tokens of embedding_text as the embedder's tokenizer counts them (special tokens included). */
  embedding_tokens: number;
  /** The title was shortened so that prefix + chunk fits the embedding budget. */
  prefix_trimmed: boolean;
}

export class EmbeddingBudgetError extends Error {
  constructor(readonly tokens: number, readonly budget: number) {
    super(`chunk alone needs ${tokens} embedding tokens, over the budget of ${budget}`);
    this.name = 'EmbeddingBudgetError';
  }
}

/**
 * Builds embedding_text and bm25_text for one chunk under a policy, enforcing prefix + chunk ≤ budget
 * embedding tokens. When a long title would break the budget the title is shortened word by word
 * (the chunk text is never cut: it is what retrieval returns).
 */
export function applyPrefixPolicy(
  policy: PrefixPolicy,
  title: string,
  chunkText: string,
  counter: EmbeddingTokenCounter,
  budget: number = GUARDRAILS.maxEmbeddingTokens,
): PrefixedTexts {
  if (policy === 'none') {
    const tokens = embeddingTokensOf(counter, chunkText);
    if (tokens > budget) throw new EmbeddingBudgetError(tokens, budget);
    return { embedding_text: chunkText, bm25_text: chunkText, embedding_tokens: tokens, prefix_trimmed: false };
  }
  let words = title.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
  let trimmed = false;
  for (;;) {
    const prefix = contextualPrefix(words.join(' '));
    const embedding_text = prefix + chunkText;
    const tokens = embeddingTokensOf(counter, embedding_text);
    if (tokens <= budget) {
      return { embedding_text, bm25_text: policy === 'B' ? embedding_text : chunkText, embedding_tokens: tokens, prefix_trimmed: trimmed };
    }
    if (words.length === 0) throw new EmbeddingBudgetError(tokens, budget);
    // Halve long titles first so a pathological title costs O(log n) counts, then go word by word.
    words = words.length > 8 ? words.slice(0, Math.floor(words.length / 2)) : words.slice(0, -1);
    trimmed = true;
  }
}
