// The platform schema created one statement per await (src/store/schema.ts, issue 17): the split
// finds every statement of every DDL script, and a fresh PGlite ends up with exactly the catalog the
// whole scripts make in one exec each; meanwhile the caller's event loop keeps turning.
import { openDb, type Db } from '../../src/platform/db';
import { ddlStatements, ensurePlatformSchema, PLATFORM_DDL } from '../../src/store/schema';
import { longestStall } from '../support/event-loop-stall';

async function catalog(db: Db): Promise<unknown[]> {
  const cols = await db.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = current_schema() ORDER BY table_name, column_name`,
  );
  const idx = await db.query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY tablename, indexname`);
  const checks = await db.query(
    `SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2`,
  );
  return [cols.rows, idx.rows, checks.rows];
}

test('splits at semicolons outside quotes and comments', () => {
  expect(ddlStatements(`CREATE TABLE a (x text DEFAULT 'a;b'); -- it's a comment; still one
    CREATE TABLE "b;c" (y int);
    ;`)).toEqual([`CREATE TABLE a (x text DEFAULT 'a;b')`, `-- it's a comment; still one\n    CREATE TABLE "b;c" (y int)`]);
  expect(() => ddlStatements('CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql')).toThrow(/^ddlStatements: dollar-quoted/);
});

test('statement by statement, a fresh PGlite gets the catalog the whole scripts make, and the loop keeps turning', async () => {
  const whole = await openDb();
  const split = await openDb();
  try {
    const control = await longestStall(async () => {
      for (const ddl of PLATFORM_DDL) await whole.exec(ddl);
    });
    const stepped = await longestStall(() => ensurePlatformSchema(split));
    const statements = PLATFORM_DDL.flatMap(ddlStatements);
    expect(statements.length).toBeGreaterThan(PLATFORM_DDL.length);
    const expected = await catalog(whole);
    expect((expected[0] as unknown[]).length).toBeGreaterThan(20);
    expect(await catalog(split)).toEqual(expected);
    // Idempotent, as every start runs it.
    await ensurePlatformSchema(split);
    expect(await catalog(split)).toEqual(expected);
    process.stdout.write(`platform schema on fresh PGlite: ${statements.length} statements; longest stall ${stepped.stallMs.toFixed(0)} ms stepped, ${control.stallMs.toFixed(0)} ms as whole scripts\n`);
    expect(stepped.stallMs).toBeLessThan(1000);
  } finally {
    await whole.close();
    await split.close();
  }
}, 120_000);
