// The error-type table (src/workflows/errors.ts) against the code that throws: every
// ApplicationFailure.create in src names a type from the table, and marks it nonRetryable exactly when
// the table says a retry cannot help. A new type thrown without an entry, or an entry that disagrees
// with its throw sites, fails here instead of drifting apart again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_TYPES, NON_RETRYABLE_ERROR_TYPES, type ErrorType } from '../../src/workflows/errors';

interface ThrowSite {
  where: string;
  type: string;
  nonRetryable: boolean;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The object literal passed to ApplicationFailure.create, by brace counting from its '{'. */
function objectAt(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced braces after offset ${open}`);
}

function throwSites(): ThrowSite[] {
  const root = path.join(__dirname, '..', '..', 'src');
  const sites: ThrowSite[] = [];
  for (const file of sourceFiles(root)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/ApplicationFailure\.create\(\{/g)) {
      const literal = objectAt(text, m.index + m[0].length - 1);
      const typeExpr = /\btype:\s*([^,\n]+)/.exec(literal)?.[1] ?? '';
      const where = `${path.relative(root, file)}:${text.slice(0, m.index).split('\n').length}`;
      // `type: unsafe ? 'UnsafeIdentifier' : 'BakeoffInputError'` throws either name.
      for (const name of typeExpr.matchAll(/'([A-Za-z]+)'/g)) {
        sites.push({ where, type: name[1], nonRetryable: /\bnonRetryable:\s*true\b/.test(literal) });
      }
    }
  }
  return sites;
}

const sites = throwSites();

test('the scan finds the throw sites it checks', () => {
  // A scan that matched nothing would pass every check below.
  const types = new Set(sites.map((s) => s.type));
  expect(types).toEqual(expect.objectContaining({ size: expect.any(Number) }));
  expect(types.size).toBeGreaterThanOrEqual(8);
  expect([...types]).toEqual(expect.arrayContaining(['BakeoffInputError', 'TableNotFound', 'WebhookRejected']));
});

test('every thrown ApplicationFailure type is in the table, with the retryability its throw sites use', () => {
  const disagreements = sites
    .filter((s) => !(s.type in ERROR_TYPES) || ERROR_TYPES[s.type as ErrorType].retryable === s.nonRetryable)
    .map((s) => `${s.where}: ${s.type} thrown ${s.nonRetryable ? 'non-retryable' : 'retryable'}, table says ${s.type in ERROR_TYPES ? (ERROR_TYPES[s.type as ErrorType].retryable ? 'retryable' : 'non-retryable') : 'nothing'}`);
  expect(disagreements).toEqual([]);
});

test('the retry policies list exactly the non-retryable types, including both lists they replaced', () => {
  const expected = (Object.keys(ERROR_TYPES) as ErrorType[]).filter((t) => !ERROR_TYPES[t].retryable);
  expect([...NON_RETRYABLE_ERROR_TYPES].sort()).toEqual(expected.sort());
  const bakeoffBefore = ['BakeoffInputError', 'ConfigValidationError', 'LaneNotFound', 'BaselineMismatch', 'UnsafeIdentifier', 'PointerConflict'];
  const scheduledBefore = ['BakeoffInputError', 'LaneNotFound', 'UnsafeIdentifier', 'TableNotFound', 'DatasetUnavailable'];
  expect(NON_RETRYABLE_ERROR_TYPES).toEqual(expect.arrayContaining([...bakeoffBefore, ...scheduledBefore]));
  // The old bakeoff list keeps its order at the head: running bakeoffs' retry policies read the same.
  expect(NON_RETRYABLE_ERROR_TYPES.slice(0, bakeoffBefore.length)).toEqual(bakeoffBefore);
  expect(NON_RETRYABLE_ERROR_TYPES).not.toContain('WebhookUnreachable');
});
