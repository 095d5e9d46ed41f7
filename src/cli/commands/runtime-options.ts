// The data-plane runtime as CLI commands build it: the environment's store, optionally a sample of the
// dataset (subsetForTests: n cases plus their proportional share of distractor documents).
import * as path from 'node:path';
import { createRuntime, type Runtime } from '../../activities/runtime';
import { subsetForTests, DatasetError } from '../../data/dataset';
import { ConfigError } from '../../platform/temporal-config';
import type { CliContext } from '../context';
import { CliError } from '../errors';
import { homeOf, storeOptions } from '../home';
import { lockPglite } from '../pglite-lock';

export function sampleOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--sample ${JSON.stringify(value)}: must be a whole number of cases ≥ 1`);
  return n;
}

/** The runtime of one CLI command; with the embedded PGlite store it holds the store's lock until close(). */
export async function runtimeFor(ctx: CliContext, sample: number | undefined, command: string): Promise<Runtime> {
  let options;
  try {
    options = storeOptions(ctx.env);
  } catch (err) {
    throw new CliError(err instanceof ConfigError ? err.message : String(err));
  }
  let dataset;
  if (sample !== undefined) {
    try {
      dataset = await subsetForTests(sample);
    } catch (err) {
      throw new CliError(err instanceof DatasetError ? `${err.message} (bash scripts/provision/data.sh builds the dataset)` : String(err));
    }
  }
  const lock = !options.databaseUrl && options.pgliteDir ? lockPglite(options.pgliteDir, command) : null;
  try {
    const home = homeOf(ctx.env);
    const dataPlane = { home, indexDir: path.join(home, 'indexes'), manifestDir: path.join(home, 'eval'), ...(dataset ? { dataset } : {}) };
    // A worker embeds on a thread: its event loop must keep heartbeating and polling (issue 17).
    const rt = await createRuntime({ ...options, dataPlane, log: (l) => ctx.io.err(l), embedInThread: command === 'worker' });
    return {
      ...rt,
      async close() {
        try {
          await rt.close();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}
