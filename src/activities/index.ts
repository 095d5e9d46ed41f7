// createActivities(deps): every activity the bakeoff workflow calls, built around injected parts
// (the database, the data plane, where reports go) so tests and the worker wire real pieces.
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../platform/db';
import type { ArtifactStore } from '../store/artifacts';
import { createBackupActivities } from './backup';
import { createCanaryActivities } from './canary';
import { createLaneLeaseActivities } from './lane-lease';
import { createLockConfigActivities } from './lock-config';
import { createNotifyActivities } from './notify';
import { createPointerActivities } from './pointer';
import { createPromoteActivities } from './promote';
import { createRecordEvaluationActivities } from './record-evaluation';
import { createReportActivities } from './report';
import { createRollbackActivities } from './rollback';
import type { EvaluationHistoryActivities } from './record-evaluation';
import type { BakeoffActivities, DataPlaneActivities, PlatformActivities } from './types';
import { createValidateInputActivities } from './validate-input';

export { ensurePlatformSchema } from '../store/schema';

export interface PlatformDeps {
  db: Db;
  /** Directory for JSON copies of final reports (absent: database only). */
  reportsDir?: string;
  /** Shared artifact store (PostgreSQL): reports are put there and evaluation inputs read from it by hash. */
  artifacts?: ArtifactStore;
  /** Where notifications without a webhook are logged. */
  log?: (line: string) => void;
  fetchImpl?: typeof fetch;
  /**
   * Is this workflow closed? (Worker with a Temporal client: workflowClosedVia(client) in ./lane-lease.)
   * Lets claimLane take over a lease a terminated bakeoff never released; absent: never taken over.
   */
  workflowClosed?: (workflowId: string) => Promise<boolean>;
}

export function createPlatformActivities(deps: PlatformDeps): PlatformActivities & EvaluationHistoryActivities {
  return {
    ...createValidateInputActivities(),
    ...createPointerActivities(deps),
    ...createLaneLeaseActivities(deps),
    ...createBackupActivities(deps),
    ...createRollbackActivities(deps),
    ...createPromoteActivities(deps),
    ...createCanaryActivities(deps),
    ...createNotifyActivities(deps),
    ...createReportActivities(deps),
    ...createRecordEvaluationActivities(deps),
  };
}

/** Every activity the worker registers: what the bakeoff and scheduledEvaluation workflows call. */
export type WorkerActivities = BakeoffActivities & EvaluationHistoryActivities;

export interface ActivityDeps extends PlatformDeps {
  /** ingest / evaluate / probes from src/rag; lockConfig defaults to src/rag/config's lockConfig. */
  dataPlane: Omit<DataPlaneActivities, 'lockConfig' | 'lockCorpus' | 'ingestShard' | 'buildIndexes' | 'evaluatePair'> &
    Partial<Pick<DataPlaneActivities, 'lockConfig' | 'lockCorpus' | 'ingestShard' | 'buildIndexes' | 'evaluatePair'>>;
}

/** A data plane without sharded ingest (test fixtures): a bakeoff that asks for it fails in one line. */
const noShards = async (): Promise<never> => {
  throw ApplicationFailure.create({ type: 'BakeoffInputError', nonRetryable: true, message: 'ingestParallelism > 1: this worker\'s data plane has no sharded ingest' });
};

/** A data plane that cannot fingerprint a corpus: a bakeoff on it fails at the lock in one line, never ingests unlocked. */
const noCorpusLock = async (): Promise<never> => {
  throw ApplicationFailure.create({ type: 'DatasetUnavailable', nonRetryable: true, message: "this worker's data plane cannot fingerprint a corpus (no lockCorpus activity)" });
};

/**
 * A data plane without a paired evaluation (the workflow tests' fixture): the two sides one after the
 * other, without per-case latencies, so the offline latency gate compares their p95s as before.
 */
function unpairedEvaluatePair(evaluate: DataPlaneActivities['evaluate']): DataPlaneActivities['evaluatePair'] {
  return async (i) => {
    const rest = { caseSetRef: i.caseSetRef, k: i.k, ...(i.maxCases !== undefined ? { maxCases: i.maxCases } : {}) };
    const candidate = await evaluate({ ...rest, side: 'candidate', ...i.candidate });
    const baseline = await evaluate({ ...rest, side: 'baseline', ...i.baseline });
    return { candidate, baseline };
  };
}

export function createActivities(deps: ActivityDeps): WorkerActivities {
  const { lockConfig, lockCorpus, shadowIngest, ingestShard, buildIndexes, evaluate, evaluatePair, runProbes } = deps.dataPlane;
  return {
    lockConfig: lockConfig ?? createLockConfigActivities().lockConfig,
    lockCorpus: lockCorpus ?? noCorpusLock,
    shadowIngest,
    ingestShard: ingestShard ?? noShards,
    buildIndexes: buildIndexes ?? noShards,
    evaluate,
    evaluatePair: evaluatePair ?? unpairedEvaluatePair(evaluate),
    runProbes,
    ...createPlatformActivities(deps),
  };
}
