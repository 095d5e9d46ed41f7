// What every command gets: where to write, the environment, and the Temporal target from the global
// flags. Commands write through `io` (not console) so tests run the whole CLI in-process.
import type { Command } from 'commander';
import { CliError, describeError } from './errors';
import type { ExitCode } from './exit-codes';
import { errorContext, resolveTarget, withClient, type Connected, type GlobalFlags, type Target } from './target';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (status --watch redraws in place only then). */
  isTTY: boolean;
}

export interface CliContext {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  /** Interrupted by SIGINT (long waits stop early and say so). */
  signal: AbortSignal;
  /** Set by the command that ran (see exitWith). */
  exitCode: ExitCode;
}

/** Wraps a command action: its return value becomes the process exit code. */
export function exitWith<A extends unknown[]>(ctx: CliContext, fn: (...args: A) => Promise<ExitCode> | ExitCode): (...args: A) => Promise<void> {
  return async (...args: A) => {
    ctx.exitCode = await fn(...args);
  };
}

export function targetOf(cmd: Command, ctx: CliContext): Target {
  return resolveTarget(cmd.optsWithGlobals<GlobalFlags>(), ctx.env);
}

/**
 * Connects to the target and runs fn; any error becomes a one-line CliError naming the address,
 * namespace and workflow id involved.
 */
export async function onServer<T>(target: Target, workflowId: string | undefined, fn: (c: Connected) => Promise<T>): Promise<T> {
  try {
    return await withClient(target, fn);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(describeError(err, errorContext(target, workflowId)));
  }
}

/** Sleeps, waking early when the command is interrupted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
