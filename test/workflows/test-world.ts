// The per-file world of the workflow tests (jest hooks, so kept apart from harness.ts, which the
// benches import outside jest).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Db } from '../../src/platform/db';
import { createTimeSkippingEnv, openTestDb } from './harness';

/**
 * What every workflow test file needs for its tests: the time-skipping server and the test database,
 * up before the first test and torn down after the last. `onReady` receives them (tests keep their
 * own `env` / `db` variables).
 */
export function useWorkflowTestWorld(onReady: (w: { env: TestWorkflowEnvironment; db: Db }) => void): void {
  const w: { env?: TestWorkflowEnvironment; db?: Db } = {};
  beforeAll(async () => {
    w.env = await createTimeSkippingEnv();
    w.db = await openTestDb();
    onReady({ env: w.env, db: w.db });
  });
  afterAll(async () => {
    await w.env?.teardown();
    await w.db?.close();
  });
}
