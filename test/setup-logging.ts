// Keep test output readable: the SDK logs every worker state change and bundle at INFO.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger((process.env.BAKEOFF_TEST_LOG_LEVEL as 'WARN') ?? 'WARN') });
} catch {
  // Already installed in this process by an earlier test file: keep that one.
}
