// The locking step: the candidate is validated against the guardrails and hashed by src/rag/config.
// A guardrail violation is the user's to fix, so it fails without retries and names the field.
// A config on a registered dataset also records that dataset's snapshot fingerprint (not hashed) when
// this worker's home has registered it; a control worker without datasets leaves that to lockCorpus.
import { ApplicationFailure } from '@temporalio/common';
import { lockCorpusSnapshotIfRegistered } from '../data/locked-corpus';
import { RegistryError } from '../data/registry';
import { stateDir } from '../platform/paths';
import { ConfigValidationError, lockConfig, type LockedConfig } from '../rag/config';
import type { LockConfigInput } from './types';

export function createLockConfigActivities(home: string = stateDir) {
  return {
    async lockConfig(input: LockConfigInput): Promise<LockedConfig> {
      try {
        return lockCorpusSnapshotIfRegistered(lockConfig(input.candidate), home);
      } catch (err) {
        if (err instanceof ConfigValidationError) {
          throw ApplicationFailure.create({ type: 'ConfigValidationError', nonRetryable: true, message: err.message, details: [err.issues] });
        }
        if (err instanceof RegistryError) throw ApplicationFailure.create({ type: 'DatasetUnavailable', nonRetryable: true, message: err.message });
        throw err;
      }
    },
  };
}
