// Every ApplicationFailure type the activities and workflows throw, in one table, with whether a
// retry can help. Both workflows' retry policies take NON_RETRYABLE_ERROR_TYPES from here (they used
// to keep two lists that drifted apart). Pure data, safe in the sandbox.
export const ERROR_TYPES = {
  // User mistakes and broken invariants: a retry would fail the same way.
  BakeoffInputError: { retryable: false },
  ConfigValidationError: { retryable: false },
  LaneNotFound: { retryable: false },
  BaselineMismatch: { retryable: false },
  UnsafeIdentifier: { retryable: false },
  PointerConflict: { retryable: false },
  // Missing parts of the data plane: an operator has to act first.
  TableNotFound: { retryable: false },
  DatasetUnavailable: { retryable: false },
  IndexUnavailable: { retryable: false },
  // The reranker an index build published (by sha256) is missing or corrupt in the artifact store:
  // retraining elsewhere would judge with other results, so the step fails until it is restored.
  RerankerUnavailable: { retryable: false },
  // A registered dataset changed since the bakeoff locked its snapshot: re-lock (a new bakeoff) to use it.
  CorpusChanged: { retryable: false },
  // A sharded ingest's index build found a shard not done, or shards over different corpora.
  ShardsIncomplete: { retryable: false },
  // Another bakeoff holds the lane.
  LaneBusy: { retryable: false },
  // A split from a bakeoff that no longer owns the lane (rolled back, or another bakeoff holds it).
  SplitFenced: { retryable: false },
  // A shadow table that is live, a candidate, or claimed by another bakeoff / ingest run.
  ShadowTableInUse: { retryable: false },
  // An update the workflow's validator refused (thrown by the workflow, not an activity).
  InvalidRequest: { retryable: false },
  // Transient: the next attempt can succeed.
  LeaseConflict: { retryable: true },
  WebhookUnreachable: { retryable: true },
  WebhookRejected: { retryable: true },
} as const satisfies Record<string, { retryable: boolean }>;

export type ErrorType = keyof typeof ERROR_TYPES;

export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = (Object.keys(ERROR_TYPES) as ErrorType[]).filter((t) => !ERROR_TYPES[t].retryable);
