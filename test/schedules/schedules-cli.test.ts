// `bakeoff schedules apply|show` in-process against the dev server of the jest global setup.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { CliContext } from '../../src/cli/context';
import { CliError } from '../../src/cli/errors';
import { EXIT } from '../../src/cli/exit-codes';
import { buildProgram } from '../../src/cli/main';

const address = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS;
if (!address) throw new Error('BAKEOFF_TEST_TEMPORAL_ADDRESS is not set (the jest global setup starts a dev server)');
const lane = `cli_${randomBytes(3).toString('hex')}`;
const ids = [`bakeoff-eval-nightly-smoke-${lane}`, `bakeoff-eval-weekly-full-${lane}`];

async function run(args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const ctx: CliContext = { io: { out: (s) => out.push(s), err: (s) => out.push(`ERR ${s}`), isTTY: false }, env: {}, signal: new AbortController().signal, exitCode: EXIT.OK };
  const program = buildProgram(ctx);
  await program.parseAsync(['--address', address!, '--task-queue', 'cli-sched', 'schedules', ...args], { from: 'user' });
  return { code: ctx.exitCode, out };
}

afterAll(async () => {
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  for (const id of ids) await client.schedule.getHandle(id).delete().catch(() => undefined);
  await connection.close();
});

test('apply, apply again, change a cron, show', async () => {
  expect(await run(['apply', '--lane', lane])).toEqual({ code: EXIT.OK, out: [`created   ${ids[0]}\ncreated   ${ids[1]}`] });
  expect(await run(['apply', '--lane', lane])).toEqual({ code: EXIT.OK, out: [`unchanged ${ids[0]}\nunchanged ${ids[1]}`] });
  const changed = await run(['apply', '--lane', lane, '--weekly-cron', '15 4 * * 6', '--json']);
  expect(JSON.parse(changed.out[0])).toEqual([
    { name: 'nightly-smoke', scheduleId: ids[0], action: 'unchanged', changes: [] },
    { name: 'weekly-full', scheduleId: ids[1], action: 'updated', changes: ["cron '0 3 * * 0' → '15 4 * * 6'"] },
  ]);
  const shown = await run(['show', '--lane', lane]);
  expect(shown.code).toBe(EXIT.OK);
  expect(shown.out[0]).toMatch(new RegExp(`^${ids[0]}: '0 2 \\* \\* \\*' UTC; next \\d{4}-\\d\\d-\\d\\dT02:00:00\\.000Z`));
  // show compares nothing: without the weekly flag it still reports what the server has.
  expect(shown.out[1]).toMatch(new RegExp(`^${ids[1]}: '15 4 \\* \\* 6' UTC; next \\d{4}-\\d\\d-\\d\\dT04:15:00\\.000Z`));
});

test('a bad cron is one readable line, before the server is asked', async () => {
  await expect(run(['apply', '--lane', lane, '--nightly-cron', '0 2 * *'])).rejects.toThrow(
    new CliError("nightly.cron: cron '0 2 * *' must have 5 fields: minute hour day-of-month month day-of-week (e.g. '0 2 * * *')"),
  );
  const missing = await run(['show', '--lane', 'nosuchlane']);
  expect(missing).toEqual({ code: EXIT.ERROR, out: ["bakeoff-eval-nightly-smoke-nosuchlane: missing (run 'bakeoff schedules apply')", "bakeoff-eval-weekly-full-nosuchlane: missing (run 'bakeoff schedules apply')"] });
});
