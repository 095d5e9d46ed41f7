// The per-checkout state directory as the CLI sees it: BAKEOFF_HOME from the environment the command
// runs with (tests run the CLI in-process with their own), else src/platform/paths' stateDir.
import * as path from 'node:path';
import { runtimeOptionsFromEnv, type RuntimeOptions } from '../activities/runtime';
import { stateDir } from '../platform/paths';

export function homeOf(env: NodeJS.ProcessEnv): string {
  return env.BAKEOFF_HOME ? path.resolve(env.BAKEOFF_HOME) : stateDir;
}

/** runtimeOptionsFromEnv, with every state path under homeOf(env). */
export function storeOptions(env: NodeJS.ProcessEnv): RuntimeOptions {
  const o = runtimeOptionsFromEnv(env);
  const home = homeOf(env);
  return {
    ...o,
    pgliteDir: path.join(home, 'pglite'),
    reportsDir: env.BAKEOFF_REPORTS_DIR ?? path.join(home, 'reports'),
  };
}
