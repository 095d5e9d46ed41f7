// ApplicationFailure types that must never be retried: user mistakes and broken invariants. The
// activities throw them; the workflow's retry policies list them. Pure data, safe in the sandbox.
export const NON_RETRYABLE_ERROR_TYPES = [
  'BakeoffInputError',
  'ConfigValidationError',
  'LaneNotFound',
  'BaselineMismatch',
  'UnsafeIdentifier',
  'PointerConflict',
] as const;
