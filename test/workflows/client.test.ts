// The client-side guard against unregistered search attributes, on the real dev server of the global
// setup (which registers BakeoffPhase/ConfigHash in 'default'): a namespace without them is refused
// before a bakeoff could start and hang on failing workflow tasks.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { checkSearchAttributes, SearchAttributesMissingError } from '../../src/client/bakeoff';

const address = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS;
let connection: Connection;

beforeAll(async () => {
  if (!address) throw new Error('BAKEOFF_TEST_TEMPORAL_ADDRESS is not set (test/global-setup.ts starts a dev server)');
  connection = await Connection.connect({ address });
});
afterAll(async () => {
  await connection?.close();
});

test('a namespace with the search attributes registered passes the check', async () => {
  await expect(checkSearchAttributes(new Client({ connection }), 'default')).resolves.toBeUndefined();
});

test('a namespace without them is refused with the command that fixes it', async () => {
  const namespace = `bakeoff-nosa-${randomBytes(4).toString('hex')}`;
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  const err = await checkSearchAttributes(new Client({ connection, namespace }), namespace).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SearchAttributesMissingError);
  expect((err as Error).message).toContain(`'temporal operator search-attribute create --namespace ${namespace} --name BakeoffPhase --type Keyword'`);
  expect((err as Error).message).toContain('ConfigHash');
});
