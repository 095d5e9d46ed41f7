// No Docker engine exists on these machines, so the compose file is validated, not run:
// it parses, has the services users rely on, pins every image and binds ports to loopback.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

interface Service {
  image?: string;
  ports?: string[];
  depends_on?: Record<string, unknown> | string[];
  environment?: Record<string, string>;
}

const file = path.join(__dirname, '..', '..', 'docker-compose.temporal.yml');
const compose = parse(fs.readFileSync(file, 'utf8')) as { services: Record<string, Service> };

test('has the Temporal server, its PostgreSQL, UI, admin tools and a pgvector chunk store', () => {
  expect(Object.keys(compose.services).sort()).toEqual(
    ['chunk-store', 'temporal', 'temporal-admin-tools', 'temporal-db', 'temporal-ui'].sort(),
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
