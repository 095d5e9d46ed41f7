// `--ingest-parallelism N` on `bakeoff start` / `dry-run` (issue 17): the flag reaches the workflow
// input's ingestParallelism through the real CLI (start --print-input, in process), and a bad value is
// one line naming the flag. Pure: --print-input contacts no server.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRawInput, validateInput } from '../../src/cli/bakeoff-input';
import { bakeoffInProcess } from '../support/cli';

let dir: string;
let config: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-parallelism-'));
  config = path.join(dir, 'cand.yaml');
  fs.writeFileSync(config, 'chunk_size: 450\noverlap_ratio: 0.1\njaccard_threshold: 0.8\nprefix_policy: A\nchunk_version: v450_ip\ntokenizer_hash: abcdef0123\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('start --ingest-parallelism 8 --print-input renders ingestParallelism 8; without the flag the default 1', async () => {
  const env = { ...process.env, BAKEOFF_HOME: dir };
  const withFlag = await bakeoffInProcess(['start', '--config', config, '--ingest-parallelism', '8', '--print-input'], env);
  expect(withFlag.code).toBe(0);
  expect(JSON.parse(withFlag.stdout).ingestParallelism).toBe(8);
  const without = await bakeoffInProcess(['start', '--config', config, '--print-input'], env);
  expect(JSON.parse(without.stdout).ingestParallelism).toBe(1);
});

test('dry-run input takes it too; the file value is overridden by the flag', () => {
  expect(validateInput(buildRawInput({ config, by: 'dana', ingestParallelism: '64' }, { dryRun: true })).ingestParallelism).toBe(64);
  fs.writeFileSync(path.join(dir, 'whole.yaml'), 'candidate: { chunk_size: 450, overlap_ratio: 0.1, jaccard_threshold: 0.8, prefix_policy: A, chunk_version: v450_ip, tokenizer_hash: abcdef0123 }\ningestParallelism: 4\n');
  expect(validateInput(buildRawInput({ config: path.join(dir, 'whole.yaml'), by: 'dana' })).ingestParallelism).toBe(4);
  expect(validateInput(buildRawInput({ config: path.join(dir, 'whole.yaml'), by: 'dana', ingestParallelism: '2' })).ingestParallelism).toBe(2);
});

test.each(['0', '65', '2.5', 'many', ''])('--ingest-parallelism %j is refused in one line naming the flag', async (bad) => {
  const r = await bakeoffInProcess(['start', '--config', config, '--ingest-parallelism', bad, '--print-input'], { ...process.env, BAKEOFF_HOME: dir });
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toEqual([`bakeoff: --ingest-parallelism ${JSON.stringify(bad)}: must be a whole number from 1 to 64`]);
});
