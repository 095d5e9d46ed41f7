// An Embedder whose forward passes run on a worker thread. onnxruntime-node 1.14 runs a session
// synchronously on the calling thread (its async run() is a nextTick around a blocking call), so a
// batch of 32 chunks held a worker's event loop for ~2 s: heartbeats stalled and, in `--role all`,
// workflow tasks waited behind it (TMPRL1104, issue 17). Here the main thread keeps a tokenizer-only
// view (countTokens/embeddingTokens are synchronous and cheap, the chunker calls them per chunk) and
// every embed() is a message to a thread that owns its own session; vectors come back bit-identical
// (same model file, same batching).
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Embedder, type EmbedOptions, type LoadOptions } from './embed';

interface EmbedReply {
  id: number;
  vectors?: Float32Array[];
  error?: string;
}

// The thread's code. Under ts-jest the modules are .ts files, which plain Node cannot load; the
// thread then compiles them with TypeScript's transpileModule as it requires them.
const THREAD_MAIN = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.embedModule.endsWith('.ts')) {
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
const { Embedder } = require(workerData.embedModule);
Embedder.load(workerData.name, workerData.options).then(
  (embedder) => {
    parentPort.on('message', (m) => {
      embedder.embed(m.texts, m.options).then(
        (vectors) => parentPort.postMessage({ id: m.id, vectors }),
        (err) => parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) }),
      );
    });
    parentPort.postMessage({ id: 0 });
  },
  (err) => parentPort.postMessage({ id: 0, error: String((err && err.message) || err) }),
);
`;

export class ThreadedEmbedder {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: Float32Array[]) => void; reject: (e: Error) => void }>();
  private failed: Error | null = null;

  private constructor(
    /** This thread's copy: metadata and tokenisation only (its session is never run here). */
    private readonly local: Embedder,
    private readonly thread: Worker,
  ) {
    thread.on('message', (m: EmbedReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) thread.unref();
      if (m.error !== undefined || !m.vectors) p.reject(new Error(`embedding thread: ${m.error ?? 'no vectors'}`));
      else p.resolve(m.vectors);
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    thread.on('error', (err) => fail(new Error(`embedding thread failed: ${err.message}`)));
    thread.on('exit', (code) => fail(new Error(`embedding thread exited (code ${code})`)));
    // An idle thread must not keep a finished process alive; one with work in flight must (embed refs it).
    thread.unref();
  }

  static async load(name?: string, options: LoadOptions = {}): Promise<ThreadedEmbedder> {
    const local = await Embedder.load(name, options);
    const embedModule = require.resolve('./embed');
    const thread = new Worker(THREAD_MAIN, { eval: true, workerData: { embedModule: path.resolve(embedModule), name: local.name, options } });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: EmbedReply) => {
        if (m.id !== 0) return;
        thread.off('message', onMessage);
        if (m.error === undefined) return resolve();
        void thread.terminate();
        reject(new Error(`embedding thread could not load '${local.name}': ${m.error}`));
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
    });
    return new ThreadedEmbedder(local, thread);
  }

  get name(): string {
    return this.local.name;
  }
  get modelId(): string {
    return this.local.modelId;
  }
  get dims(): number {
    return this.local.dims;
  }
  get maxTokens(): number {
    return this.local.maxTokens;
  }
  get tokenizerHash(): string {
    return this.local.tokenizerHash;
  }

  countTokens(text: string): number {
    return this.local.countTokens(text);
  }

  embeddingTokens(text: string): number {
    return this.local.embeddingTokens(text);
  }

  embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<Float32Array[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread.ref();
      this.thread.postMessage({ id, texts: [...texts], options });
    });
  }

  async embedOne(text: string): Promise<Float32Array> {
    const [v] = await this.embed([text], { batchSize: 1 });
    return v;
  }

  async close(): Promise<void> {
    await this.thread.terminate();
  }
}
