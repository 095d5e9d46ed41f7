// Traffic sources for demos and CI dry runs (src/serve/demo-traffic.ts, src/cli/dry-run-traffic.ts):
// eval questions or a JSONL file, bad files named by file:line, and the dry-run flag's refusal on the
// embedded store. The service + replayer themselves run in test/serve/mirror.test.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDryRunTraffic } from '../../src/cli/dry-run-traffic';
import { CliError } from '../../src/cli/errors';
import { loadTrafficQueries } from '../../src/serve/demo-traffic';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-traffic-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

test('eval-questions: the dataset questions; none is an error', () => {
  expect(loadTrafficQueries('eval-questions', () => ['a?', 'b?'])).toEqual(['a?', 'b?']);
  expect(() => loadTrafficQueries('eval-questions', () => [])).toThrow('--traffic eval-questions: the dataset has no questions');
});

test('a JSONL file: objects with a query or plain strings, blank lines skipped', () => {
  const p = file('ok.jsonl', '{"query": "how do I sort a list"}\n\n"what is a tuple"\n');
  expect(loadTrafficQueries(p, () => [])).toEqual(['how do I sort a list', 'what is a tuple']);
});

test('bad files are one line naming file:line', () => {
  expect(() => loadTrafficQueries(file('bad.jsonl', '"fine"\n{"q": 1}\n'), () => [])).toThrow(/bad\.jsonl:2: expected \{"query": "…"\}/);
  expect(() => loadTrafficQueries(file('broken.jsonl', '"fine"\n"x"\n{oops\n'), () => [])).toThrow(/broken\.jsonl:3: not JSON$/);
  expect(() => loadTrafficQueries(file('empty.jsonl', '\n'), () => [])).toThrow(/empty\.jsonl: no queries/);
  expect(() => loadTrafficQueries(path.join(dir, 'missing.jsonl'), () => [])).toThrow(/missing\.jsonl: cannot read \(ENOENT\)/);
  expect(() => loadTrafficQueries('queries.txt', () => [])).toThrow('--traffic "queries.txt": give eval-questions or a .jsonl file');
});

test('bakeoff dry-run --traffic refuses the embedded store with one line saying why', async () => {
  const err = await startDryRunTraffic('eval-questions', 'default', {}, () => undefined).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CliError);
  expect((err as Error).message).toMatch(/^--traffic needs a PostgreSQL store shared with the worker: set DATABASE_URL=/);
  expect((err as Error).message).not.toContain('\n');
});
