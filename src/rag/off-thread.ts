// Calls a pure, synchronous, exported function of one of our modules on a new worker thread and
// resolves with its result, so CPU-bound work (the reranker's Newton fit) does not hold the event loop
// that polls for workflow tasks and sends heartbeats (issue 17). Arguments and result cross by
// structured clone; an Error thrown there comes back as an Error with its message. Not for anything
// that loads faiss-node: its constructors are process-wide statics (see index-build-child.ts).
import { Worker } from 'node:worker_threads';

// Under ts-jest the modules are .ts files, which plain Node cannot load; the thread then compiles
// them with TypeScript's transpileModule as it requires them (as threaded-embedder.ts does).
const THREAD_MAIN = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.module.endsWith('.ts')) {
  const fs = require('node:fs');
  const ts = require('typescript');
  require.extensions['.ts'] = (m, filename) => {
    const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    m._compile(out.outputText, filename);
  };
}
try {
  parentPort.postMessage({ result: require(workerData.module)[workerData.fn](...workerData.args) });
} catch (err) {
  parentPort.postMessage({ error: String((err && err.message) || err), name: (err && err.name) || 'Error' });
}
`;

/** `module` is an absolute path (require.resolve of the caller's module). */
export function runOffThread<T>(module: string, fn: string, args: readonly unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const thread = new Worker(THREAD_MAIN, { eval: true, workerData: { module, fn, args } });
    let settled = false;
    thread.once('message', (m: { result?: T; error?: string; name?: string }) => {
      settled = true;
      if (m.error === undefined) return resolve(m.result as T);
      const err = new Error(m.error);
      err.name = m.name ?? 'Error';
      reject(err);
    });
    thread.once('error', (err) => {
      if (!settled) reject(new Error(`${fn} thread failed: ${err.message}`));
      settled = true;
    });
    thread.once('exit', (code) => {
      if (!settled) reject(new Error(`${fn} thread exited (code ${code}) before it answered`));
      settled = true;
    });
  });
}
