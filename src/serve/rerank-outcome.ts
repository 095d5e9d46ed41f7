// The reranker as the serving path uses it: a RerankerService whose failures never fail a request.
// When the service refuses (its own rate limit) or breaks, the snapshot keeps its fused order and the
// request is marked as not reranked. What happened is recorded per request through an
// AsyncLocalStorage slot, because HybridRetriever calls the reranker deep inside retrieve().
import { AsyncLocalStorage } from 'node:async_hooks';
import { RerankRateLimitError, type RerankerService } from '../rag/rerank-service';
import type { Candidate, SnapshotReranker } from '../rag/retrieve';

export interface RerankOutcome {
  /** The reranker scored this request's snapshot. */
  ran: boolean;
  /** Why it did not ('rate_limited' or 'error: …'); null when it ran or was never asked. */
  fallback: string | null;
}

const slot = new AsyncLocalStorage<RerankOutcome>();

/** Runs fn with a fresh outcome slot and returns what the reranker did during it. */
export async function withRerankOutcome<T>(fn: () => Promise<T>): Promise<{ value: T; outcome: RerankOutcome }> {
  const outcome: RerankOutcome = { ran: false, fallback: null };
  const value = await slot.run(outcome, fn);
  return { value, outcome };
}

export class FallbackReranker implements SnapshotReranker {
  fallbacks = 0;
  lastError: string | null = null;

  constructor(readonly service: RerankerService) {}

  get id(): string {
    return this.service.id;
  }

  async rerank(query: string, snapshot: readonly Candidate[]): Promise<number[]> {
    const outcome = slot.getStore();
    try {
      const scores = await this.service.rerank(query, snapshot);
      if (outcome) outcome.ran = true;
      return scores;
    } catch (err) {
      this.fallbacks++;
      const why = err instanceof RerankRateLimitError ? 'rate_limited' : `error: ${(err as Error).message}`;
      this.lastError = why;
      if (outcome) outcome.fallback = why;
      // Equal scores: the retriever breaks ties by fused rank, so the fused order is kept as is.
      return snapshot.map(() => 1);
    }
  }
}
