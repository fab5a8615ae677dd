import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadCatalog } from '@atrium/spawner';
import { ConfigError, parseConfig } from '../config.js';
import { warmPoolSpecs } from './warm-pools.js';

const catalog = loadCatalog(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'images', 'catalog.yaml'));
const pools = (input: Record<string, unknown>) => warmPoolSpecs(parseConfig({ stateDir: '/tmp/atrium-config-test', ...input }), catalog).map((s) => `${s.image.name}/${s.size.name}×${s.servers}`);

describe('workspaces.warmPools', () => {
  it('the demo keeps one server of the recommended image at its default size; other hubs none unless configured', () => {
    assert.deepEqual(pools({ demo: true }), ['datascience/medium×1']);
    assert.deepEqual(pools({}), []);
    assert.deepEqual(pools({ demo: true, spawner: { kind: 'kubernetes' } }), [], 'pods have no pools: the demo on a cluster keeps none');
    assert.deepEqual(pools({ demo: true, workspaces: { warmPools: [] } }), [], '[] turns them off');
    assert.deepEqual(pools({ workspaces: { warmPools: [{ image: 'minimal', size: 'small', servers: 2 }] } }), ['minimal/small×2']);
  });

  it('names a pool the catalog cannot run', () => {
    const refused = (warmPools: unknown[], message: RegExp) =>
      assert.throws(() => pools({ workspaces: { warmPools } }), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    refused([{ image: 'rstudio', size: 'small', servers: 1 }], /warmPools\[0\]\.image: "rstudio" is not in the image catalog \(datascience, minimal\)/);
    refused([{ image: 'minimal', size: 'gpu-small', servers: 1 }], /warmPools\[0\]\.size: the minimal image has no size "gpu-small" \(it has small, medium, large\)/);
    refused([{ image: 'minimal', size: 'small', servers: 1 }, { image: 'minimal', size: 'small', servers: 2 }], /warmPools\[1\]: minimal at size small is listed twice/);
    assert.throws(() => pools({ workspaces: { warmPools: [{ image: 'minimal', size: 'small', servers: -1 }] } }), /warmPools\.0\.servers/);
  });
});
