// Real Temporal time-skipping test server (Java, scripts/provision/testserver.sh) started by the
// SDK from our wrapper: a 48-hour timer must complete in seconds of wall time.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { timeSkippingServerPath } from '../../src/platform/test-server';
import { FORTY_EIGHT_HOURS_MS, sleep48h } from '../fixtures/workflows/sleep-48h';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  const t0 = Date.now();
  // The SDK gives the server 5 s to answer; this fails if the JVM starts too slowly.
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: timeSkippingServerPath() } },
  });
  process.stderr.write(`[time-skipping] test server up in ${Date.now() - t0} ms\n`);
});

afterAll(async () => {
  await env?.teardown();
});

test('a 48-hour workflow timer completes in seconds of wall time', async () => {
  const taskQueue = 'sleep-48h';
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../fixtures/workflows/sleep-48h'),
  });

  const wallStart = Date.now();
  const report = await worker.runUntil(
    env.client.workflow.execute(sleep48h, { taskQueue, workflowId: `sleep-48h-${wallStart}` }),
  );
  const wallMs = Date.now() - wallStart;
  process.stderr.write(`[time-skipping] 48 h of workflow time took ${wallMs} ms of wall time\n`);

  expect(report.wokeAtMs - report.startedAtMs).toBeGreaterThanOrEqual(FORTY_EIGHT_HOURS_MS);
  expect(wallMs).toBeLessThan(30_000);
});
