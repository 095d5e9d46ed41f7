// `bakeoff dry-run --traffic SOURCE`: the retrieval service and the replayer, in the CLI's process,
// for the duration of the dry run. The worker runs elsewhere, so the store must be one both processes
// can open: PostgreSQL (DATABASE_URL). The embedded PGlite is one process only — there,
// `npm run demo -- --traffic eval-questions` runs worker, service and replayer in one process.
import { loadDataset } from '../data/dataset';
import { openDb } from '../platform/db';
import { Embedder } from '../rag/embed';
import { loadTrafficQueries, startDemoTraffic } from '../serve/demo-traffic';
import { CliError } from './errors';

export async function startDryRunTraffic(
  source: string,
  lane: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<{ stop(): Promise<void> }> {
  const url = env.DATABASE_URL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    throw new CliError('--traffic needs DATABASE_URL (postgres://…): the embedded PGlite store is held by the worker; npm run demo -- --traffic eval-questions runs everything in one process');
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
