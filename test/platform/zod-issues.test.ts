// The shared zod-issue formatter over real schema failures: each option reproduces one of the
// formats the call sites wrote by hand before (root label, flag prefix, separator, bare message).
import { z } from 'zod';
import { formatZodIssues, zodIssueLines } from '../../src/platform/zod-issues';

const Schema = z.strictObject({ k: z.int().max(12), nested: z.object({ name: z.string().min(1) }) });

function failure(value: unknown): z.ZodError {
  const r = Schema.safeParse(value);
  if (r.success) throw new Error('expected a failure');
  return r.error;
}

const fieldErr = failure({ k: 40, nested: { name: '' } });
const rootErr = failure('not an object');

test('fields are dotted paths, one issue per line by default', () => {
  const lines = zodIssueLines(fieldErr);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^k: .*12/);
  expect(lines[1]).toMatch(/^nested\.name: /);
  expect(formatZodIssues(fieldErr)).toBe(lines.join('\n'));
});

test('an issue about the whole value is named by root: (input) by default, a chosen label, empty, or just the message', () => {
  const message = rootErr.issues[0].message;
  expect(formatZodIssues(rootErr)).toBe(`(input): ${message}`);
  expect(formatZodIssues(rootErr, { root: '(settings)' })).toBe(`(settings): ${message}`);
  expect(formatZodIssues(rootErr, { root: '' })).toBe(`: ${message}`);
  expect(formatZodIssues(rootErr, { root: null })).toBe(message);
  expect(formatZodIssues(fieldErr, { root: null })).toBe(formatZodIssues(fieldErr));
});

test('prefix marks every path, and the root label too; separator joins', () => {
  expect(formatZodIssues(fieldErr, { prefix: '--', separator: '; ' })).toMatch(/^--k: .*; --nested\.name: /);
  expect(formatZodIssues(rootErr, { prefix: 'candidate.', root: '(config)' })).toBe(`candidate.(config): ${rootErr.issues[0].message}`);
});

test('every hand-written shape it replaced gives the same text', () => {
  for (const err of [fieldErr, rootErr]) {
    const handWritten = err.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    expect(formatZodIssues(err, { root: '(options)', separator: '; ' })).toBe(handWritten);
    const flags = err.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ');
    expect(formatZodIssues(err, { prefix: '--', root: '', separator: '; ' })).toBe(flags);
    const bare = err.issues.map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ');
    expect(formatZodIssues(err, { root: null, separator: '; ' })).toBe(bare);
  }
});
