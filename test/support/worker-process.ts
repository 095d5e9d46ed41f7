// A bakeoff worker in a child process (test/support/worker-main.ts) that a test can SIGKILL and start
// again: the chaos, load and security suites use it so a crash takes down a real process with real
// activities, database connections and in-flight tasks — not a cancelled promise in the test's own.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { FaultPlan } from './worker-main';

const REPO = path.resolve(__dirname, '..', '..');
const MAIN = path.join(__dirname, 'worker-main.ts');
const REGISTER = path.join(__dirname, 'ts-register.js');

export interface WorkerProcessOptions {
  temporalAddress: string;
  taskQueue: string;
  databaseUrl: string;
  /** Indexes, manifests and reports of this worker (share it between restarts of one scenario). */
  stateDir: string;
  /** subsetForTests(n): labelled cases (and their documents) the data plane serves. */
  subsetCases: number;
  /** Pre-built workflow bundle (see prebuildWorkflowBundle): spares every restart a webpack run. */
  bundlePath?: string;
  maxActivities?: number;
  ingestBatch?: number;
  faults?: FaultPlan;
  /** Extra environment (e.g. TEMPORAL_API_KEY for the secret scan). */
  env?: Record<string, string>;
  /** Pin the process to this CPU (taskset -c): one core's worth of inference, as a fair share of 2 cores. */
  cpu?: number;
  /** Every line the child prints is appended here (kept across restarts; scanned for secrets). */
  logFile: string;
  readyTimeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class WorkerProcess {
  private lines: string[] = [];
  readonly exited: Promise<Exit>;
  private exit: Exit | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly opts: WorkerProcessOptions,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
    const sink = fs.createWriteStream(opts.logFile, { flags: 'a' });
    this.exited.then(() => sink.end(), () => sink.end());
    let partial = '';
    const onData = (buf: Buffer) => {
      sink.write(buf);
      const parts = (partial + buf.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }

  static async start(opts: WorkerProcessOptions): Promise<WorkerProcess> {
    fs.mkdirSync(opts.stateDir, { recursive: true });
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: opts.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      BAKEOFF_TASK_QUEUE: opts.taskQueue,
      DATABASE_URL: opts.databaseUrl,
      WORKER_STATE_DIR: opts.stateDir,
      WORKER_SUBSET_CASES: String(opts.subsetCases),
      WORKER_MAX_ACTIVITIES: String(opts.maxActivities ?? 3),
      WORKER_INGEST_BATCH: String(opts.ingestBatch ?? 16),
      WORKER_FAULTS: JSON.stringify(opts.faults ?? {}),
      ...(opts.bundlePath ? { WORKER_BUNDLE: opts.bundlePath } : {}),
      ...opts.env,
    };
    const argv = [process.execPath, '-r', REGISTER, MAIN];
    // taskset execs node in place: the child's pid is the worker's, so kill() still reaches it.
    const [cmd, ...args] = opts.cpu === undefined ? argv : ['taskset', '-c', String(opts.cpu), ...argv];
    const child = spawn(cmd, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const w = new WorkerProcess(child, opts);
    await w.waitForLine(/READY/, opts.readyTimeoutMs ?? 120_000);
    return w;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  get output(): string[] {
    return this.lines;
  }

  /** Resolves with the first line matching re; rejects if the process exits first or time runs out. */
  async waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit) return hit;
      if (this.exit) throw new Error(`worker ${this.pid} exited (${JSON.stringify(this.exit)}) before printing ${re}; last lines:\n${this.lines.slice(-15).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`worker ${this.pid} did not print ${re} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL by default: no drain, no goodbye to the server — a crash. Resolves once it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    return this.exited;
  }

  /** Graceful stop (SIGTERM: the SDK drains in-flight tasks), SIGKILL after graceMs. */
  async stop(graceMs = 15_000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(t);
    return e;
  }
}

/** Bundles src/workflows once and writes it where every worker process of a suite can load it. */
export async function prebuildWorkflowBundle(dir: string): Promise<string> {
  const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => process.stderr.write(`[bundle] ${m}\n`) };
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet });
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(file, code);
  return file;
}
