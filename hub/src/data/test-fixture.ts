import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseConfig } from '../config.js';
import { SecretBox } from '../core/secrets.js';
import { LocalObjectStore } from '../storage/local-object-store.js';
import { Store } from '../store.js';
import { createDataService } from './create.js';
import type { Column, Dataset } from './model.js';
import { subjectOf } from './access-policy.js';
import type { Subject } from './access-policy.js';
import type { DataService } from './service.js';

/**
 * For unit tests of the data modules: the real wiring (createDataService)
 * on an embedded database, a local object store and local mounts in a
 * temporary state directory, with a few people:
 * alice (admin of sales-finance), bob (member of sales-finance),
 * dan (member of marketing), carol and pat (platform admins, in no team).
 */
export interface DataFixture {
  service: DataService;
  store: Store;
  stateDir: string;
  who(name: string): Promise<Subject>;
  /** Register a CSV dataset owned by sales-finance (as alice) and upload `csv` as its first version. */
  csvDataset(name: string, input: { classification: Dataset['classification']; columns: Column[]; csv: string }): Promise<Dataset>;
  close(): Promise<void>;
}

export const column = (name: string, pii: Column['pii'] = null): Column => ({ name, type: 'string', pii, mask: null, description: '' });

export async function dataFixture(): Promise<DataFixture> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-data-unit-'));
  const store = await Store.open(`sqlite:${path.join(stateDir, 'hub.sqlite')}`);
  const config = parseConfig({ stateDir });
  const service = createDataService(config, store, SecretBox.fromStateDir(stateDir, ''), new LocalObjectStore(path.join(stateDir, 'objects')));
  for (const team of ['sales-finance', 'marketing']) await store.teams.create(team, team);
  await store.users.create({ name: 'alice', teams: [{ team: 'sales-finance', role: 'team-admin' }] });
  await store.users.create({ name: 'bob', teams: [{ team: 'sales-finance', role: 'member' }] });
  await store.users.create({ name: 'dan', teams: [{ team: 'marketing', role: 'member' }] });
  await store.users.create({ name: 'carol', platformAdmin: true });
  await store.users.create({ name: 'pat', platformAdmin: true });
  const who = async (name: string) => subjectOf((await store.users.get(name))!);
  return {
    service,
    store,
    stateDir,
    who,
    async csvDataset(name, input) {
      const alice = await who('alice');
      await service.register(alice, { name, title: name, description: '', ownerTeam: 'sales-finance', classification: input.classification, format: 'csv', columns: input.columns, tags: [], productionAllowed: false });
      await service.upload(alice, name, Readable.from([Buffer.from(input.csv)]), { contentType: 'text/csv', note: '' });
      return (await service.data.getDataset(name))!;
    },
    async close() {
      service.stop();
      await store.close();
    },
  };
}
