// buildAndSaveIndexes (index-build.ts) in a child process, so the thread that polls for workflow
// tasks and sends heartbeats never waits behind FAISS: in `--role all` (the demo) an IVF build and its
// nprobe sweep held the event loop for seconds and workflow tasks over 1 s followed (issue 17).
// A process, not a worker thread: faiss-node keeps its class constructors in process-wide statics, so
// once a worker thread has loaded the addon the main thread's next FAISS call aborts the process
// ("Entering the V8 API without proper locking"). The child saves the indexes; the caller loads them.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { IndexBuildInput, IndexBuildOutput } from './index-build';

// Under ts-jest the modules are .ts files, which plain Node cannot load; the child then compiles
// them with TypeScript's transpileModule as it requires them (as threaded-embedder.ts does).
const CHILD_MAIN = `
process.once('message', ({ module, input }) => {
  if (module.endsWith('.ts')) {
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
  let reply;
  try {
    reply = { out: require(module).buildAndSaveIndexes(input) };
  } catch (err) {
    reply = { error: String((err && err.message) || err) };
  }
  process.send(reply, () => process.disconnect());
});
`;

/** Runs buildAndSaveIndexes in a new Node process; its indexes are in input.flatDir / ivfDir when this resolves. */
export function buildAndSaveIndexesInChild(input: IndexBuildInput): Promise<IndexBuildOutput> {
  const module = path.resolve(require.resolve('./index-build'));
  return new Promise<IndexBuildOutput>((resolve, reject) => {
    // Typed arrays cross as they are with the 'advanced' (structured clone) serialization.
    const child = spawn(process.execPath, ['-e', CHILD_MAIN], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', cwd: process.cwd() });
    let reply: { out?: IndexBuildOutput; error?: string } | null = null;
    child.on('message', (m: { out?: IndexBuildOutput; error?: string }) => (reply = m));
    child.once('error', (err) => reject(new Error(`index build process could not start: ${err.message}`)));
    child.once('exit', (code, signal) => {
      const r = reply as { out?: IndexBuildOutput; error?: string } | null;
      if (r?.out) resolve(r.out);
      else if (r?.error !== undefined) reject(new Error(`index build process: ${r.error}`));
      else reject(new Error(`index build process ended (${signal ?? `exit code ${code}`}) before it answered`));
    });
    child.send({ module, input });
  });
}
