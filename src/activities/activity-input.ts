// What every data-plane activity does with its input first: zod-parse it (an unsafe table name is
// UnsafeIdentifier, anything else BakeoffInputError, both non-retryable: a retry sends the same input)
// and read back the locked config it carries.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { SAFE_IDENTIFIER } from '../platform/db';
import { zodIssueLines } from '../platform/zod-issues';
import { ConfigValidationError, parseLockedConfig, type LockedConfig } from '../rag/config';

/** A table name the activities will interpolate (quoted) into SQL. */
export const TableName = z.string().regex(SAFE_IDENTIFIER, { error: (iss) => `table ${JSON.stringify(iss.input)} is not a safe SQL identifier (${SAFE_IDENTIFIER})` });

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const unsafe = parsed.error.issues.some((i) => i.path[0] === 'table');
  throw ApplicationFailure.create({ type: unsafe ? 'UnsafeIdentifier' : 'BakeoffInputError', nonRetryable: true, message: `invalid ${what} input: ${zodIssueLines(parsed.error).join('; ')}` });
}

export function lockedOrFail(value: unknown): LockedConfig {
  try {
    return parseLockedConfig(value);
  } catch (err) {
    if (err instanceof ConfigValidationError) throw ApplicationFailure.create({ type: 'ConfigValidationError', nonRetryable: true, message: err.message });
    throw err;
  }
}
