// buildAndSaveIndexes (index-build.ts) on a worker thread of its own, so the thread that polls for
// workflow tasks and sends heartbeats never waits behind FAISS: in `--role all` (the demo) an IVF build
// and its nprobe sweep held the event loop for seconds and workflow tasks over 1 s followed (issue 17).
// faiss-node is a Node-API addon and loads in a worker thread; the indexes come back serialized.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { IndexBuildInput, IndexBuildOutput } from './index-build';

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
  const out = require(workerData.module).buildAndSaveIndexes(workerData.input);
  parentPort.postMessage({ out }, [out.flat.buffer, out.ivf.buffer]);
} catch (err) {
  parentPort.postMessage({ error: String((err && err.message) || err) });
}
`;

/** True when the array owns its whole buffer, so handing the buffer to the thread moves only it. */
const ownsBuffer = (a: Float32Array): boolean => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;

/**
 * Runs buildAndSaveIndexes on a new worker thread. `input.vectors` and `input.sweepQueries` are moved
 * to the thread when they own their buffers (unusable here afterwards), copied otherwise.
 */
export function buildAndSaveIndexesOffThread(input: IndexBuildInput): Promise<IndexBuildOutput> {
  const module = path.resolve(require.resolve('./index-build'));
  const transferList = [input.vectors, input.sweepQueries].filter(ownsBuffer).map((a) => a.buffer as ArrayBuffer);
  return new Promise<IndexBuildOutput>((resolve, reject) => {
    const thread = new Worker(THREAD_MAIN, { eval: true, workerData: { module, input }, transferList });
    let settled = false;
    thread.once('message', (m: { out?: IndexBuildOutput; error?: string }) => {
      settled = true;
      // The thread ends by itself once it has answered (nothing keeps it alive); terminating it
      // while FAISS objects are being finalized is what could crash.
      if (m.out) resolve(m.out);
      else reject(new Error(`index build thread: ${m.error ?? 'no result'}`));
    });
    thread.once('error', (err) => {
      if (settled) return;
      settled = true;
      reject(new Error(`index build thread failed: ${err.message}`));
    });
    thread.once('exit', (code) => {
      if (settled) return;
      settled = true;
      reject(new Error(`index build thread exited (code ${code}) before it answered`));
    });
  });
}
