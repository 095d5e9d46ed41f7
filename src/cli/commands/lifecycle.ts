// `bakeoff start` and `bakeoff dry-run`: build the input (file + flags), validate it with the
// workflow's schema, start the workflow. dry-run then waits for the verdict and turns it into an exit
// code and a JSON report, which is what CI needs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { bakeoffWorkflowId, startBakeoff, workflowIdProblem } from '../../client/bakeoff';
import { formatDuration, parseDuration } from '../../workflows/duration';
import { statusQuery } from '../../workflows/messages';
import type { BakeoffResult } from '../../workflows/types';
import { buildRawInput, validateInput, type InputFlags } from '../bakeoff-input';
import { exitWith, onServer, sleep, targetOf, type CliContext } from '../context';
import { CliError, innermostMessage } from '../errors';
import { dryRunExitCode, EXIT, type ExitCode } from '../exit-codes';
import { homeOf } from '../home';
import { renderGates, renderShadow } from '../render';
import { defaultActor, workflowUrl } from '../target';
import { dryRunTrafficSource, startDryRunTraffic } from '../dry-run-traffic';

function addInputOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'bakeoff input or candidate config, JSON or YAML')
    .option('--chunk-size <tokens>', 'candidate chunk_size')
    .option('--overlap <ratio>', 'candidate overlap_ratio (0..0.5)')
    .option('--jaccard <threshold>', 'candidate jaccard_threshold for near-duplicate removal (0.5..1)')
    .option('--prefix-policy <A|B|none>', 'candidate prefix_policy')
    .option('--embedder <name>', 'candidate embedder (default all-MiniLM-L6-v2)')
    .option('--chunk-version <version>', 'candidate chunk_version (names the shadow table)')
    .option('--lane <lane>', 'serving lane whose live config is the baseline (default "default")')
    .option('--expect-baseline-hash <sha256>', 'refuse to run unless the lane serves this config')
    .option('--eval-cases <ref>', 'labelled case set NAME:split (default faq:dev): faq:* is the bundled FAQ; a registered dataset\'s, e.g. mydocs:test, also names the candidate\'s corpus (bakeoff dataset list)')
    .option('--k <n>', 'retrieval depth for the offline metrics (default 10)')
    .option('--ramp <plan>', 'canary plan PERCENT:SOAK,... (default 10:16h,50:16h,100:16h)')
    .option('--check-interval <duration>', 'live KPI check interval (default 5m)')
    .option('--shadow <duration>', 'shadow stage soak before any split (mirrored requests, never served), or off (default 30m; dry run 60s)')
    .option('--operator-deadline <duration>', 'how long an inconclusive verdict waits for approve/abort (default 24h)')
    .option('--webhook <name>', 'notification webhook by name: the worker POSTs to its BAKEOFF_WEBHOOK_<NAME> (an http(s) URL is still accepted, deprecated: it is stored in the workflow history)')
    .option('--ingest-parallelism <n>', 'shards of the shadow ingest run at once on the data workers, 1..64 (default 1: one shadowIngest activity; docs/scaling.md)')
    .option('--by <name>', 'who is asking (default $USER)')
    .option('--workflow-id <id>', 'override the workflow id derived from the config');
}

/** --workflow-id names report files: refused (one line naming it) before anything connects. */
function checkedWorkflowId(id: string): string {
  const problem = workflowIdProblem(id);
  if (problem) throw new CliError(`--workflow-id: ${problem}`);
  return id;
}

function inputFlags(opts: Record<string, string | undefined>, env: NodeJS.ProcessEnv): InputFlags {
  return { ...opts, by: opts.by ?? defaultActor(env) } as InputFlags;
}

export function registerLifecycleCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;

  addInputOptions(program.command('start'))
    .description('start a bakeoff of a candidate config against the live baseline')
    .option('--print-input', 'print the complete, validated workflow input as JSON (for `temporal workflow start --input-file`) and start nothing')
    .option('-q, --quiet', 'print only the workflow id')
    .option('--json', 'print {workflowId, runId, uiUrl} as JSON')
    .action(exitWith(ctx, async (opts: Record<string, string | undefined> & { printInput?: boolean; quiet?: boolean; json?: boolean }, cmd: Command) => {
      const flags = inputFlags(opts, ctx.env);
      const raw = buildRawInput(flags);
      const input = validateInput(raw, flags.config);
      const workflowId = checkedWorkflowId(opts.workflowId ?? bakeoffWorkflowId(input));
      if (opts.printInput) {
        io.out(JSON.stringify(input, null, 2));
        io.err(`workflow id: ${workflowId}`);
        return EXIT.OK;
      }
      const target = targetOf(cmd, ctx);
      const handle = await onServer(target, workflowId, ({ client }) => startBakeoff(client, input, { taskQueue: target.taskQueue, workflowId }));
      const url = workflowUrl(target, workflowId);
      if (opts.json) io.out(JSON.stringify({ workflowId, runId: handle.firstExecutionRunId, uiUrl: url }));
      else if (opts.quiet) io.out(workflowId);
      else {
        io.out(`started bakeoff ${workflowId}`);
        io.out(`  config    ${String((input.candidate as { chunk_version?: string }).chunk_version)} on lane ${input.baseline.lane}, requested by ${input.requestedBy}`);
        io.out(`  ramp      ${input.ramp.map((s) => `${s.percent}% for ${formatDuration(s.soak)}`).join(' → ')}`);
        io.out(`  status    bakeoff status ${workflowId}`);
        io.out(`  roll back bakeoff rollback ${workflowId} --reason "…"`);
        io.out(`  web UI    ${url ?? '(unknown: set BAKEOFF_UI_URL)'}`);
      }
      return EXIT.OK;
    }));

  addInputOptions(program.command('dry-run'))
    .description('run every read-only step for real on a scratch table, judge every gate, never touch the pointer; exit 0 pass, 1 gate failed, 2 inconclusive or error')
    .option('--dry-run-soak <duration>', 'soak per stage in the dry run (default 10s)')
    .option('--report <file>', 'where to write the JSON report (default .bakeoff/reports/dry-run-<id>.json)')
    .option('--timeout <duration>', 'give up waiting for the verdict after this long (default 30m)', '30m')
    .option('--json', 'print the report JSON instead of the gate table')
    .option('--traffic <source>', 'drive the real retrieval service (in this process) for the shadow stage: eval-questions, FILE.jsonl or none; needs DATABASE_URL (default: none — the lane\'s own traffic; replayed requests are served and recorded on the lane)')
    .action(exitWith(ctx, async (opts: Record<string, string | undefined> & { json?: boolean }, cmd: Command) => {
      const flags = inputFlags(opts, ctx.env);
      const timeout = parseDuration(opts.timeout);
      if (!timeout.ok) throw new CliError(`--timeout: ${timeout.reason}`);
      const input = validateInput(buildRawInput(flags, { dryRun: true }), flags.config);
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
      const workflowId = checkedWorkflowId(opts.workflowId ?? `${bakeoffWorkflowId(input).replace(/^bakeoff-/, 'bakeoff-dryrun-')}-${stamp}`);
      const target = targetOf(cmd, ctx);
      // The service and replayer run here until the verdict (issue 14): mirrored traffic for the shadow stage.
      const source = dryRunTrafficSource(opts.traffic, input.shadow !== undefined, ctx.env, (l) => io.err(l));
      const traffic = source ? await startDryRunTraffic(source, input.baseline.lane, ctx.env, (l) => io.err(l)) : null;
      const run = onServer(target, workflowId, async ({ client }) => {
        const handle = await startBakeoff(client, input, { taskQueue: target.taskQueue, workflowId });
        io.err(`dry run ${workflowId} started; web UI: ${workflowUrl(target, workflowId) ?? '(set BAKEOFF_UI_URL)'}`);
        const t0 = Date.now();
        const finished = await waitForResult(client, workflowId, timeout.ms, ctx);
        if (finished.kind === 'timeout') {
          throw new CliError(`no verdict within ${formatDuration(timeout.ms)}; the dry run goes on: bakeoff status ${workflowId}`);
        }
        if (finished.kind === 'failed') throw new CliError(`dry run ${workflowId} failed: ${finished.message}`);
        const status = finished.result.status;
        const exitCode = dryRunExitCode(status);
        const report = {
          workflowId,
          runId: handle.firstExecutionRunId,
          outcome: finished.result.outcome,
          verdict: status.verdict,
          exitCode,
          meaning: EXIT_MEANING[exitCode],
          durationMs: Date.now() - t0,
          gates: status.gates,
          liveGates: status.live.lastGates,
          shadow: status.shadow ?? null,
          failure: status.failure,
          status,
        };
        const file = path.resolve(opts.report ?? path.join(homeOf(ctx.env), 'reports', `dry-run-${workflowId}.json`));
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
        if (opts.json) io.out(JSON.stringify(report, null, 2));
        else {
          io.out(renderGates(status.gates));
          if (status.shadow) {
            io.out(`\nShadow stage\n${renderShadow(status.shadow).map((l) => `  ${l}`).join('\n')}`);
            if (status.shadow.live.lastGates.length > 0) io.out(renderGates(status.shadow.live.lastGates));
          }
          if (status.live.lastGates.length > 0) io.out(`\nLive gates (last check)\n${renderGates(status.live.lastGates)}`);
          const shadowWord = status.shadow ? `, shadow stage ${status.shadow.outcome === 'failed' ? 'FAILED' : status.shadow.outcome === 'passed' ? 'PASSED' : 'not proven'}` : '';
          io.out(`\nverdict: ${status.verdict?.toUpperCase() ?? 'NONE'}${shadowWord} — ${EXIT_MEANING[exitCode]}${status.failure ? `\n${status.failure}` : ''}`);
        }
        io.out(`report: ${file}`);
        return exitCode;
      });
      return traffic ? run.finally(() => traffic.stop()) : run;
    }));
}

const EXIT_MEANING: Record<ExitCode, string> = {
  [EXIT.OK]: 'every gate passed (exit 0)',
  [EXIT.GATE_FAILED]: 'a gate failed (exit 1)',
  [EXIT.ERROR]: 'inconclusive: a human has to look (exit 2)',
};

/** Kept here for the callers that import it from the command (the rule lives in exit-codes.ts). */
export { dryRunExitCode };

type Finished = { kind: 'done'; result: BakeoffResult } | { kind: 'failed'; message: string } | { kind: 'timeout' };

/** Waits for the result, printing each new event of the run to stderr (CI logs show progress). */
async function waitForResult(client: Client, workflowId: string, timeoutMs: number, ctx: CliContext): Promise<Finished> {
  const handle = client.workflow.getHandle(workflowId);
  // Set by the result promise; the loop below only polls the status for progress lines.
  const box: { settled: Finished | null } = { settled: null };
  void handle.result().then(
    (result: BakeoffResult) => (box.settled = { kind: 'done', result }),
    (err: unknown) => (box.settled = { kind: 'failed', message: innermostMessage(err) }),
  );
  const deadline = Date.now() + timeoutMs;
  const printed = new Set<string>();
  while (!box.settled && Date.now() < deadline && !ctx.signal.aborted) {
    await sleep(1_000, ctx.signal);
    if (box.settled) break;
    const status = await handle.query(statusQuery).catch(() => null);
    for (const e of status?.events ?? []) {
      const key = `${e.at}|${e.message}`;
      if (printed.has(key)) continue;
      printed.add(key);
      ctx.io.err(`[${new Date(e.at).toISOString().slice(11, 19)}] ${e.message}`);
    }
  }
  if (ctx.signal.aborted && !box.settled) throw new CliError(`interrupted; the dry run goes on: bakeoff status ${workflowId}`);
  return box.settled ?? { kind: 'timeout' };
}
