// The CLI's rule for which corpus a bakeoff judges (pure: buildRawInput on a config file): a
// registered --eval-cases NAME:split names the candidate's dataset unless the config names one;
// faq:* leaves it absent (the bundled FAQ, the hash every older config has); a config naming another
// dataset than the cases is refused in one line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRawInput } from '../../src/cli/bakeoff-input';
import { defaultCandidate } from '../../src/rag/config';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-evalcases-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const ID = { embedder: 'all-MiniLM-L6-v2', tokenizer: 'all-MiniLM-L6-v2', tokenizer_hash: 'ab12cd34ef56ab12' };

function configFile(name: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ candidate: { ...defaultCandidate(ID), ...extra } }));
  return file;
}
const candidateOf = (raw: Record<string, unknown>) => raw.candidate as Record<string, unknown>;

test('a registered case set names the corpus; faq:* leaves dataset absent', () => {
  expect(candidateOf(buildRawInput({ config: configFile('a'), evalCases: 'mydocs:test', by: 'x' })).dataset).toBe('mydocs');
  expect('dataset' in candidateOf(buildRawInput({ config: configFile('b'), evalCases: 'faq:dev', by: 'x' }))).toBe(false);
  expect('dataset' in candidateOf(buildRawInput({ config: configFile('c'), by: 'x' }))).toBe(false);
  expect(candidateOf(buildRawInput({ config: configFile('d', { dataset: 'mydocs' }), evalCases: 'mydocs:all', by: 'x' })).dataset).toBe('mydocs');
});

test('cases of one dataset and a config naming another are refused in one line', () => {
  expect(() => buildRawInput({ config: configFile('e', { dataset: 'other' }), evalCases: 'mydocs:test', by: 'x' })).toThrow(
    '--eval-cases mydocs:test: the candidate\'s dataset is "other"; cases and corpus must be the same dataset',
  );
});
