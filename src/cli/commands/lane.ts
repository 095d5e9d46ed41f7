// `bakeoff lane adopt`: a team's existing chunk table becomes a lane's live baseline without
// re-ingesting (src/activities/lane-adopt.ts does the checks, the copy, the indexes and the pointer).
import type { Command } from 'commander';
import { AdoptRefused, adoptLane } from '../../activities/lane-adopt';
import { ConfigValidationError, lockConfig } from '../../rag/config';
import { buildRawInput } from '../bakeoff-input';
import { exitWith, type CliContext } from '../context';
import { CliError, innermostMessage } from '../errors';
import { EXIT } from '../exit-codes';
import { defaultActor } from '../target';
import { runtimeFor } from './runtime-options';
import { checkLane } from './store';

export function registerLaneCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const lane = program.command('lane').description('serving lanes: adopt an existing chunk table as a lane\'s baseline');

  lane
    .command('adopt')
    .description(
      'make an existing chunk table (document_chunks schema: id, doc_id, chunk_index, embedding_text, bm25_text, embedding_token_count, ' +
        'chunk_version, ingest_run_id + a pgvector column) the lane\'s live baseline, without re-ingesting: checks columns, dimensions and norms, ' +
        'copies the rows (vectors as stored) into the config\'s table, builds its FAISS indexes and points the lane at it',
    )
    .requiredOption('--lane <lane>', 'the lane')
    .requiredOption('--table <name>', 'the team\'s chunk table (only read)')
    .requiredOption('-c, --config <file>', 'the config that describes how the table was made (candidate config or bakeoff input, JSON or YAML); its embedder embeds the queries')
    .option('--vector-column <name>', 'the pgvector column (default: the table\'s only one)')
    .option('--force', 'replace the lane\'s current live pointer (refused while a bakeoff has a candidate or mirror on the lane)')
    .option('--by <name>', 'who is acting (default $USER)')
    .action(exitWith(ctx, async (opts: { lane: string; table: string; config: string; vectorColumn?: string; force?: boolean; by?: string }) => {
      const by = opts.by ?? defaultActor(ctx.env);
      const laneName = checkLane(opts.lane);
      const raw = buildRawInput({ config: opts.config, by } as never);
      let locked;
      try {
        locked = lockConfig(raw.candidate);
      } catch (err) {
        if (err instanceof ConfigValidationError) throw new CliError(`${opts.config}: invalid config:\n${err.issues.map((i) => `  ${i}`).join('\n')}`);
        throw err;
      }
      const rt = await runtimeFor(ctx, undefined, 'lane adopt');
      try {
        const r = await adoptLane({ db: rt.db, plane: rt.plane, lane: laneName, table: opts.table, locked, vectorColumn: opts.vectorColumn, force: opts.force, by, log: (l) => io.err(l) }).catch((e) => {
          throw e instanceof AdoptRefused ? new CliError(e.message) : new CliError(innermostMessage(e));
        });
        for (const n of r.notes) io.err(`note: ${n}`);
        io.out(`lane ${r.lane}: live table ${r.liveTable} (${r.rows} chunks of ${r.documents} documents from ${r.sourceTable}.${r.vectorColumn}, ${r.dims} dims), config ${locked.config_hash.slice(0, 16)}…, pointer v${r.pointer.version}`);
        if (r.replaced) io.out(`replaced live table ${r.replaced.liveTable} (pointer v${r.replaced.version})`);
        io.out(`indexes: flat ${r.index.flat}, IVF${r.index.nlist} ${r.index.ivf} (nprobe ${r.index.nprobe})`);
        return EXIT.OK;
      } finally {
        await rt.close();
      }
    }));
}
