// The locking step: the candidate is validated against the guardrails and hashed by src/rag/config.
// A guardrail violation is the user's to fix, so it fails without retries and names the field.
import { ApplicationFailure } from '@temporalio/common';
import { ConfigValidationError, lockConfig, type LockedConfig } from '../rag/config';
import type { LockConfigInput } from './types';

export function createLockConfigActivities() {
  return {
    async lockConfig(input: LockConfigInput): Promise<LockedConfig> {
      try {
        return lockConfig(input.candidate);
      } catch (err) {
        if (err instanceof ConfigValidationError) {
          throw ApplicationFailure.create({ type: 'ConfigValidationError', nonRetryable: true, message: err.message, details: [err.issues] });
        }
        throw err;
      }
    },
  };
}
