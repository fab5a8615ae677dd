import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * For tests: the databases the data layer is checked against. The embedded
 * default always; PostgreSQL when `npm test` started one
 * (ATRIUM_TEST_POSTGRES_URL), a fresh database per call so migrations run
 * from zero. In CI a missing PostgreSQL is an error, not a skip.
 */
export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** Connection URL of a new, empty database. */
  url: () => Promise<string>;
}

export function testDatabases(prefix = 'atrium'): TestDatabase[] {
  const list: TestDatabase[] = [
    { name: 'sqlite', url: async () => `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), `${prefix}-db-`)), 'hub.sqlite')}` },
  ];
  const server = process.env.ATRIUM_TEST_POSTGRES_URL;
  if (server) list.push({ name: 'postgres', url: () => freshPostgresDatabase(server, prefix) });
  else if (process.env.CI) throw new Error('ATRIUM_TEST_POSTGRES_URL is not set: run the tests with npm test');
  return list;
}

export async function freshPostgresDatabase(serverUrl: string, prefix = 'atrium'): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
