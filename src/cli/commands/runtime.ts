// `bakeoff worker` runs the bakeoff worker in this process (the same worker as `node dist/worker.js`,
// with the CLI's --address/--namespace/--task-queue); `bakeoff server start|stop` starts or stops the
// local Temporal dev server (with the Web UI) that the demo and the walkthrough use.
import type { Command } from 'commander';
import { ensureLocalTemporal, stopLocalTemporal } from '../../platform/local-temporal';
import { exitWith, targetOf, type CliContext } from '../context';
import { CliError, describeError } from '../errors';
import { EXIT } from '../exit-codes';
import { storeDescription } from '../store';
import { errorContext, recordedLocalServer, uiUrlFor } from '../target';
import { runtimeFor, sampleOption } from './runtime-options';

export function registerRuntimeCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;

  program
    .command('worker')
    .description('run a bakeoff worker in this process until Ctrl-C / SIGTERM (drains in-flight tasks first)')
    .option('--sample <cases>', 'use only this many labelled cases and their share of the corpus (a quick trial; the default is the whole FAQ dataset)')
    .option('--max-activities <n>', 'activities run at once (ingest and evaluate are CPU-bound)', '3')
    .option('--role <role>', 'control (workflows, pointer, rollback), data (ingest, evaluate, probes on <task-queue>-data) or all', 'all')
    .option('--lane <lane>', 'with --bootstrap: the lane to create')
    .option('--bootstrap', 'create the lane\'s baseline first if it has none (ingests the baseline config)')
    .action(exitWith(ctx, async (opts: { sample?: string; maxActivities: string; role: string; lane?: string; bootstrap?: boolean }, cmd: Command) => {
      const target = targetOf(cmd, ctx);
      const maxActivities = Number(opts.maxActivities);
      if (!Number.isInteger(maxActivities) || maxActivities < 1) throw new CliError(`--max-activities ${JSON.stringify(opts.maxActivities)}: must be a whole number ≥ 1`);
      const sample = sampleOption(opts.sample);
      const { WorkerRoleSchema, describeWorkers } = await import('../../worker');
      const role = WorkerRoleSchema.safeParse(opts.role);
      if (!role.success) throw new CliError(`--${role.error.issues[0]?.message}`);
      const { NativeConnection } = await import('@temporalio/worker');
      const { createBakeoffWorker } = await import('../../worker');
      let connection;
      try {
        connection = await NativeConnection.connect({ address: target.address, ...target.connection });
      } catch (err) {
        throw new CliError(describeError(err, errorContext(target)));
      }
      const rt = await runtimeFor(ctx, sample, 'worker');
      try {
        if (opts.bootstrap) {
          const { ensureBaselineLane } = await import('../../activities/lane-bootstrap');
          const r = await ensureBaselineLane({ db: rt.db, plane: rt.plane, lane: opts.lane, by: 'bakeoff worker', log: (l) => io.err(`[worker] ${l}`) });
          io.err(`[worker] lane ${r.pointer.lane}: ${r.created ? 'created' : 'exists'}, live ${r.pointer.liveTable}`);
        }
        const worker = await createBakeoffWorker({
          connection,
          namespace: target.namespace,
          taskQueue: target.taskQueue,
          activities: rt.activities,
          role: role.data,
          maxConcurrentActivityTaskExecutions: maxActivities,
        });
        io.err(`[worker] ${describeWorkers(worker, `${target.address} (namespace ${target.namespace}); store: ${storeDescription(ctx.env)}${sample ? `; dataset sample: ${sample} cases` : ''}`)}`);
        await worker.run();
        io.err('[worker] stopped');
      } finally {
        await connection.close().catch(() => undefined);
        await rt.close();
      }
      return EXIT.OK;
    }));

  const server = program.command('server').description('the local Temporal dev server (SQLite in .bakeoff/, Web UI included)');
  server
    .command('start')
    .description('start the local dev server, or find the one already running (with TEMPORAL_ADDRESS set: check that it answers)')
    .action(exitWith(ctx, async () => {
      let local;
      try {
        local = await ensureLocalTemporal((l) => io.err(l));
      } catch (err) {
        throw new CliError(describeError(err));
      }
      const ui = local.uiUrl ?? uiUrlFor(local.address, ctx.env);
      io.out(`Temporal running at ${local.address}${local.started ? ' (started now)' : ''}`);
      io.out(`Web UI: ${ui ?? '(unknown: set BAKEOFF_UI_URL)'}`);
      return EXIT.OK;
    }));
  server
    .command('stop')
    .description('stop the local dev server started by `bakeoff server start` or the demo (its SQLite file stays)')
    .action(exitWith(ctx, () => {
      const rec = recordedLocalServer();
      const stopped = stopLocalTemporal();
      io.out(stopped ? `stopped the local dev server at ${rec?.address ?? '?'}` : 'no local dev server was running');
      return EXIT.OK;
    }));
}
