// The data-plane commands as real processes with the real model, real FAISS and PGlite in a scratch
// BAKEOFF_HOME, on a 3-case sample of the FAQ dataset (about 30 documents, so the real ingest fits in a
// test): ingest --baseline creates lane default, eval measures its live table, sweep-nprobe reads the
// table's saved indexes, ingest --config shadow-ingests the example candidate.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bakeoffProcess } from '../support/cli';

const repo = path.resolve(__dirname, '..', '..');
let home: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-data-'));
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: 'data-test',
    BAKEOFF_HOME: home,
    ...(process.env.BAKEOFF_CACHE ? { BAKEOFF_CACHE: process.env.BAKEOFF_CACHE } : {}),
    ...(process.env.BAKEOFF_MODEL_DIR ? { BAKEOFF_MODEL_DIR: process.env.BAKEOFF_MODEL_DIR } : {}),
    ...(process.env.BAKEOFF_DATA_DIR ? { BAKEOFF_DATA_DIR: process.env.BAKEOFF_DATA_DIR } : {}),
  };
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
});

test('ingest --baseline, eval, sweep-nprobe and ingest --config on a 3-case sample', async () => {
  const t0 = Date.now();
  const base = await bakeoffProcess(['ingest', '--baseline', '--sample', '3'], env, 240_000);
  expect(base.stderr).not.toMatch(/^\s+at /m);
  expect(base.code).toBe(0);
  expect(base.stdout).toMatch(/^lane default: created with live table document_chunks_v512_o0_nodedup_[0-9a-f]{8} \(config [0-9a-f]{16}…, pointer v1\)$/m);
  const again = await bakeoffProcess(['ingest', '--baseline', '--sample', '3'], env, 120_000);
  expect(again.stdout).toMatch(/^lane default: already has live table document_chunks_v512_o0_nodedup_[0-9a-f]{8}/m);
  // reused, not silently: what it found and how to start over (issue 15 item 6)
  expect(again.stderr).toContain("nothing ingested: lane 'default' already exists (pointer v1, last changed by data-test at ");
  expect(again.stderr).toContain(`To start over: another lane (--lane NAME, then baseline.lane in the bakeoff input), or stop every bakeoff process (worker, service), then \`rm -rf ${path.join(home, 'pglite')}\``);
  const baseTable = /live table (document_chunks_v512_o0_nodedup_[0-9a-f]{8})/.exec(base.stdout)![1];
  const tIngest = Date.now() - t0;

  const ev = await bakeoffProcess(['eval', '--sample', '3', '--cases', 'faq:all', '--json'], env, 240_000);
  expect(ev.code).toBe(0);
  const report = JSON.parse(ev.stdout);
  expect(report).toMatchObject({ side: 'baseline', table: baseTable, cases: 3, k: 10 });
  for (const v of Object.values(report.metrics as Record<string, number>)) expect(v).toBeGreaterThanOrEqual(0);
  expect(report.metrics.hit_rate).toBeLessThanOrEqual(1);
  expect(fs.existsSync(report.manifest)).toBe(true);
  expect(report.manifest.startsWith(path.join(home, 'eval'))).toBe(true);

  const sw = await bakeoffProcess(['sweep-nprobe', '--table', baseTable, '--query-source', 'table', '--queries', '20', '--json'], env, 120_000);
  expect(sw.code).toBe(0);
  const sweep = JSON.parse(sw.stdout);
  expect(sweep.queries).toBe(20);
  const last = sweep.points[sweep.points.length - 1];
  expect(last.nprobe).toBe(sweep.nlist); // every list searched: exact
  expect(last.overlapAtK).toBe(1);
  expect(sweep.points[0].overlapAtK).toBeLessThanOrEqual(last.overlapAtK);
  const table = await bakeoffProcess(['sweep-nprobe', '--table', baseTable, '--query-source', 'table', '--queries', '20', '--nprobes', '1,2'], env, 120_000);
  expect(table.stdout).toMatch(/^NPROBE\s+OVERLAP@10\s+P50 MS\s+P95 MS\s+SPEED-UP P95\s+MEETS TARGET$/m);
  expect(table.stdout).toMatch(/^1\s+\d\.\d{3}\s+/m);

  const cand = await bakeoffProcess(['ingest', '--config', path.join(repo, 'examples/bakeoff.yaml'), '--sample', '3'], env, 240_000);
  expect(cand.code).toBe(0);
  expect(cand.stdout).toMatch(/^document_chunks_v450_o10_j80_a_[0-9a-f]{8}: \d+ chunks from \d+ documents, \d+ near-duplicates removed/m);

  const missing = await bakeoffProcess(['eval', '--table', 'document_chunks_nope', '--sample', '3'], env, 120_000);
  expect(missing.code).toBe(2);
  expect(missing.stderr.trim().split('\n').pop()).toBe('bakeoff: table document_chunks_nope does not exist');
  process.stderr.write(`[data-commands] baseline ingest of the 3-case sample (twice): ${tIngest} ms; whole test ${Date.now() - t0} ms\n`);
}, 900_000); // five real-model processes: the default 120 s is less than one of their own 240 s limits on a loaded machine
