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

export interface PrefixBudget {
  /** Hard cap on prefix + chunk (the guardrail, 1024): a chunk that cannot meet it is an error. */
  budget?: number;
  /**
   * The model's own input limit (512 for MiniLM). The title is shortened, down to nothing, so that
   * the prefix never pushes a chunk past it; a chunk that is over it on its own is left to the model.
   */
  modelMaxTokens?: number;
  /**
   * Content tokens of the chunk as the chunker measured them. The prefix ends in a newline, and
   * WordPiece never merges across whitespace, so prefix + chunk = tokens(prefix) + this: no need to
   * tokenise the whole embedding text again.
   */
  chunkTokens?: number;
}

/**
 * Builds embedding_text and bm25_text for one chunk under a policy, enforcing prefix + chunk ≤ budget
 * embedding tokens. A long title is shortened word by word (the chunk text is never cut: it is what
 * retrieval returns).
 */
export function applyPrefixPolicy(
  policy: PrefixPolicy,
  title: string,
  chunkText: string,
  counter: EmbeddingTokenCounter,
  opts: PrefixBudget = {},
): PrefixedTexts {
  const budget = opts.budget ?? GUARDRAILS.maxEmbeddingTokens;
  const tokensWith = (prefix: string) =>
    opts.chunkTokens === undefined ? embeddingTokensOf(counter, prefix + chunkText) : embeddingTokensOf(counter, prefix) + opts.chunkTokens;
  const bare = tokensWith('');
  if (bare > budget) throw new EmbeddingBudgetError(bare, budget);
  if (policy === 'none') return { embedding_text: chunkText, bm25_text: chunkText, embedding_tokens: bare, prefix_trimmed: false };

  const limit = Math.min(budget, Math.max(opts.modelMaxTokens ?? budget, bare));
  let words = title.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
  let trimmed = false;
  for (;;) {
    const prefix = contextualPrefix(words.join(' '));
    const tokens = prefix ? tokensWith(prefix) : bare;
    if (tokens <= limit) {
      const embedding_text = prefix + chunkText;
      return { embedding_text, bm25_text: policy === 'B' ? embedding_text : chunkText, embedding_tokens: tokens, prefix_trimmed: trimmed };
    }
    // Halve long titles first so a pathological title costs O(log n) counts, then go word by word.
    words = words.length > 8 ? words.slice(0, Math.floor(words.length / 2)) : words.slice(0, -1);
    trimmed = true;
  }
}
