// `bakeoff dry-run --traffic SOURCE`: the retrieval service and the replayer, in the CLI's process,
// for the duration of the dry run. The worker runs elsewhere, so the store must be one both processes
// can open: PostgreSQL (DATABASE_URL). The embedded PGlite is one process only — there,
// `npm run demo -- --traffic eval-questions` runs worker, service and replayer in one process.
import { loadDataset } from '../data/dataset';
import { openDb } from '../platform/db';
import { Embedder } from '../rag/embed';
import { loadTrafficQueries, startDemoTraffic } from '../serve/demo-traffic';
import { CliError } from './errors';

const NO_PG_HINT =
  'DATABASE_URL=postgres://… (PostgreSQL with pgvector: bash scripts/provision/postgres.sh installs one, ' +
  'or docker compose -f docker-compose.temporal.yml up)';

/**
 * The traffic source of a dry run: --traffic as given ("none": no traffic). Synthetic traffic is opt-in:
 * a dry run takes no lane lease, so a real bakeoff may be running on the same lane, and replayed requests
 * are served and recorded there like users' — they would become that bakeoff's live evidence. Without
 * --traffic the shadow stage judges the lane's own traffic (the retrieval service mirrors it), and one
 * line says how to drive some when the lane has none.
 */
export function dryRunTrafficSource(flag: string | undefined, hasShadow: boolean, env: NodeJS.ProcessEnv, log: (line: string) => void): string | null {
  if (flag === 'none') return null;
  if (flag !== undefined) return flag;
  if (!hasShadow) return null;
  const shared = env.DATABASE_URL && /^postgres(ql)?:\/\//.test(env.DATABASE_URL);
  log(
    'shadow stage: judges the lane\'s own traffic (the retrieval service mirrors it); on a lane no one else uses, ' +
      (shared ? '--traffic eval-questions drives the real service from here' : `--traffic eval-questions needs ${NO_PG_HINT}, or run npm run demo`),
  );
  return null;
}

export async function startDryRunTraffic(
  source: string,
  lane: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<{ stop(): Promise<void> }> {
  const url = env.DATABASE_URL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    throw new CliError(`--traffic needs a PostgreSQL store shared with the worker: set ${NO_PG_HINT}; the embedded PGlite store is one process only (npm run demo runs worker, service and traffic in one)`);
  }
  let queries: string[];
  const dataset = source === 'eval-questions' ? await loadDataset() : null;
  try {
    queries = loadTrafficQueries(source, () => dataset?.cases.map((c) => c.question) ?? []);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const db = await openDb({ url });
  try {
    const traffic = await startDemoTraffic({
      db, lane, queries, log,
      loadEmbedder: (name) => Embedder.load(name),
      trainCases: async () => (dataset ?? (await loadDataset())).cases,
    });
    return {
      async stop() {
        const t = await traffic.stop();
        log(`traffic: ${t.sent} requests sent, ${t.ok} answered, ${t.failed} failed`);
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
