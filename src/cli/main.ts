#!/usr/bin/env node
// The `bakeoff` command line: start, watch and steer bakeoffs on Temporal, plus the store and data
// plane commands on-call needs. Exit codes (src/cli/exit-codes.ts, docs/operations.md): 0 done / dry
// run passed, 1 dry run: a gate failed, 2 dry run inconclusive, or any error. Errors are one readable
// line on stderr; BAKEOFF_DEBUG=1 adds the stack of unexpected ones.
import { Command, CommanderError } from 'commander';
import { registerControlCommands } from './commands/control';
import { registerDataCommands } from './commands/data';
import { registerLaneCommands } from './commands/lane';
import { registerDatasetCommands } from './commands/dataset';
import { registerInspectCommands } from './commands/inspect';
import { registerJudgeCommands } from './commands/judge';
import { registerLifecycleCommands } from './commands/lifecycle';
import { registerRuntimeCommands } from './commands/runtime';
import { registerReportCommand } from './commands/report';
import { registerScheduleCommands } from './commands/schedules';
import { registerStoreCommands } from './commands/store';
import { registerScreenshotCommand } from './commands/screenshot';
import { registerWorkersCommand } from './commands/workers';
import type { CliContext, CliIo } from './context';
import { CliError, describeError } from './errors';
import { EXIT, type ExitCode } from './exit-codes';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('bakeoff')
    .description('durable, signal-controlled rollouts of retrieval configurations on Temporal')
    .option('--address <host:port>', 'Temporal frontend (default: $TEMPORAL_ADDRESS, the local dev server, or 127.0.0.1:7233)')
    .option('--namespace <name>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or "default")')
    .option('--task-queue <name>', 'task queue of the bakeoff worker (default: $BAKEOFF_TASK_QUEUE or "bakeoff")')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok (dry-run: every gate passed) · 1 dry-run: a gate failed · 2 dry-run inconclusive, or an error\n' +
        'Every action and its temporal / tctl / Web UI equivalent: docs/operations.md',
    );
  registerLifecycleCommands(program, ctx);
  registerInspectCommands(program, ctx);
  registerReportCommand(program, ctx);
  registerControlCommands(program, ctx);
  registerStoreCommands(program, ctx);
  registerDataCommands(program, ctx);
  registerLaneCommands(program, ctx);
  registerDatasetCommands(program, ctx);
  registerRuntimeCommands(program, ctx);
  registerWorkersCommand(program, ctx);
  registerScreenshotCommand(program, ctx);
  registerScheduleCommands(program, ctx);
  registerJudgeCommands(program, ctx);
  const applyIo = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => ctx.io.out(s.replace(/\n$/, '')),
      writeErr: (s) => ctx.io.err(s.replace(/\n$/, '')),
      // One line, like every other mistake: "bakeoff: required option ... (see bakeoff abort --help)".
      outputError: (s, write) => write(`bakeoff: ${s.trim().replace(/^error: /, '')} (see ${commandPath(cmd)} --help)\n`),
    });
    cmd.commands.forEach(applyIo);
  };
  applyIo(program);
  return program;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never throws. */
export async function runCli(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env, signal: AbortSignal = new AbortController().signal): Promise<ExitCode> {
  const ctx: CliContext = { io, env, signal, exitCode: EXIT.OK };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version are not errors; usage mistakes exit like every other user mistake.
      return err.exitCode === 0 ? EXIT.OK : EXIT.ERROR;
    }
    io.err(`bakeoff: ${describeError(err)}`);
    if (env.BAKEOFF_DEBUG === '1' && !(err instanceof CliError) && err instanceof Error && err.stack) io.err(err.stack);
    return err instanceof CliError ? err.exitCode : EXIT.ERROR;
  }
}

if (require.main === module) {
  const controller = new AbortController();
  let interrupts = 0;
  // First Ctrl-C: stop waiting (watch, dry-run) cleanly; second: leave now. The worker command's
  // own handlers (Temporal's Runtime) drain the worker on the same signals.
  const onSignal = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that went away (`bakeoff approve … | head -1`) is not an error: stop writing and stop
  // waiting, keep the command's own exit code, never print the EPIPE stack.
  let stdoutGone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutGone = true;
    controller.abort();
  });
  const io: CliIo = {
    out: (s) => {
      if (!stdoutGone) process.stdout.write(`${s}\n`);
    },
    err: (s) => process.stderr.write(`${s}\n`),
    isTTY: Boolean(process.stdout.isTTY),
  };
  runCli(process.argv.slice(2), io, process.env, controller.signal).then(
    (code) => {
      process.exitCode = code;
      // Open handles (a native Temporal runtime, a PGlite worker) must not keep a finished command alive.
      setTimeout(() => process.exit(code), 100).unref();
    },
    (err: unknown) => {
      process.stderr.write(`bakeoff: ${describeError(err)}\n`);
      process.exit(EXIT.ERROR);
    },
  );
}
