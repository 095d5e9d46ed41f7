// No Docker engine exists on these machines, so the compose file is validated, not run:
// it parses, has the services users rely on, pins every image and binds ports to loopback.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  depends_on?: Record<string, unknown> | string[];
  environment?: Record<string, string>;
}

const file = path.join(__dirname, '..', '..', 'docker-compose.temporal.yml');
const compose = parse(fs.readFileSync(file, 'utf8')) as { services: Record<string, Service> };

test('has the Temporal server, its PostgreSQL, UI, admin tools, a pgvector chunk store and both worker roles', () => {
  expect(Object.keys(compose.services).sort()).toEqual(
    ['bakeoff-control', 'bakeoff-data', 'chunk-store', 'temporal', 'temporal-admin-tools', 'temporal-db', 'temporal-ui'].sort(),
  );
  expect(compose.services['chunk-store'].image).toMatch(/^pgvector\/pgvector:/);
  expect(compose.services.temporal.environment?.DB).toMatch(/^postgres/);
});

test.each(Object.entries(compose.services))('%s pins its image to an exact tag', (_name, svc) => {
  expect(svc.image).toBeDefined();
  const [, tag] = svc.image!.split(':');
  expect(tag).toMatch(/^\d+\.\d+/); // a version, never 'latest' or a bare major
});

test('published ports bind to loopback and do not collide', () => {
  const published = Object.values(compose.services).flatMap((s) => s.ports ?? []);
  expect(published.length).toBeGreaterThanOrEqual(3);
  for (const p of published) expect(p).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  const hostPorts = published.map((p) => p.split(':')[1]);
  expect(new Set(hostPorts).size).toBe(hostPorts.length);
  expect(hostPorts).toEqual(expect.arrayContaining(['7233', '8233']));
});

test('every depends_on names a defined service', () => {
  for (const svc of Object.values(compose.services)) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const d of deps) expect(compose.services[d]).toBeDefined();
  }
});

test('the worker services run `bakeoff worker` in the control and data roles against the compose servers', () => {
  const roleOf = (name: string) => {
    const cmd = compose.services[name].command ?? [];
    expect(cmd.slice(0, 3)).toEqual(['node', 'dist/cli/main.js', 'worker']);
    return cmd[cmd.indexOf('--role') + 1];
  };
  expect(roleOf('bakeoff-control')).toBe('control');
  expect(roleOf('bakeoff-data')).toBe('data');
  for (const name of ['bakeoff-control', 'bakeoff-data']) {
    const env = compose.services[name].environment ?? {};
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(new URL(env.DATABASE_URL!).host).toBe('chunk-store:5432');
    expect(compose.services[name].ports ?? []).toEqual([]);
  }
});
