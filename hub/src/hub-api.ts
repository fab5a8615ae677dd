import { z } from 'zod';
import { ApiRegistry } from './core/api.js';
import { anyone } from './core/authorization.js';
import type { HubDeps } from './deps.js';
import { FEATURES } from './features.js';

/**
 * The hub's whole REST API: every feature's routes and the version route.
 * Declaring routes only reads `deps` lazily (handlers and owner lookups use
 * them per request), so docs/authorization.md is generated from the same
 * declarations without starting a hub (hub/src/authorization-doc.ts).
 */
export function hubApi(deps: HubDeps, version: string): ApiRegistry {
  const api = new ApiRegistry();
  for (const feature of FEATURES) feature.routes?.(api, deps);
  api.add({
    method: 'get',
    path: '/',
    tag: 'hub',
    summary: 'Hub version',
    authorize: { who: anyone },
    response: z.object({ name: z.literal('atrium'), version: z.string() }),
    handler: async () => ({ name: 'atrium', version }),
  });
  return api;
}
