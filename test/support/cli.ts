// Running the bakeoff CLI from tests, two ways: in-process (runCli with captured output: fast, used for
// most calls) and as a real process (an executable `bakeoff` on PATH that runs src/cli/main.ts through
// test/support/ts-register.js: what an operator's shell does, exit codes and all).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';

const repo = path.resolve(__dirname, '..', '..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** In-process: the same program, output captured. */
export async function bakeoffInProcess(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false }, env);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

let binDir: string | undefined;
/** A directory holding an executable `bakeoff` (put it first on PATH). */
export function bakeoffBinDir(): string {
  if (binDir) return binDir;
  binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-bin-'));
  const shim = path.join(binDir, 'bakeoff');
  fs.writeFileSync(
    shim,
    `#!/bin/sh\nexec node -r ${JSON.stringify(path.join(repo, 'test/support/ts-register.js'))} ${JSON.stringify(path.join(repo, 'src/cli/main.ts'))} "$@"\n`,
  );
  fs.chmodSync(shim, 0o755);
  return binDir;
}

/** Runs a program (bakeoff, temporal, tctl, sh) to completion with a timeout; never throws on exit codes. */
export function run(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd ?? repo, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function bakeoffProcess(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliRun> {
  return run(path.join(bakeoffBinDir(), 'bakeoff'), args, { env, timeoutMs });
}
