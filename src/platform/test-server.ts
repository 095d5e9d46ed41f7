// The Java time-skipping test server, provisioned by scripts/provision/testserver.sh from Maven
// Central (the SDK's own download needs the internet). The wrapper execs java so the SDK can kill it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binDir } from './paths';

export function timeSkippingServerPath(): string {
  const p = process.env.TEMPORAL_TEST_SERVER_PATH ?? path.join(binDir, 'temporal-test-server');
  if (!fs.existsSync(p)) {
    throw new Error(`time-skipping test server not found at ${p}: run 'bash scripts/provision/testserver.sh'`);
  }
  return p;
}
