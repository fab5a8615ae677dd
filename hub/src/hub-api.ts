import { z } from 'zod';
import { ApiRegistry } from './core/api.js';
import { anyone } from './core/authorization.js';
import type { HubDeps } from './deps.js';
import { FEATURES } from './features.js';

export const VERSION = '0.1.0';

/**
 * The hub's whole REST API: every feature's routes, in the order of
 * `FEATURES`, and the version route. Declaring routes only reads `deps`
 * lazily (handlers and owner lookups use them per request), so the running
 * hub (`app.ts`), `atrium-hub openapi` and docs/authorization.md
 * (hub/src/authorization-doc.ts) all come from the same declarations.
 */
export function hubApi(deps: HubDeps): ApiRegistry {
  const api = new ApiRegistry();
  for (const feature of FEATURES) feature.routes?.(api, deps);
  api.add({
    method: 'get',
    path: '/',
    tag: 'hub',
    summary: 'Hub version',
    authorize: { who: anyone },
    response: z.object({ name: z.literal('atrium'), version: z.string() }),
    handler: async () => ({ name: 'atrium', version: VERSION }),
  });
  return api;
}

/** The OpenAPI document of `api`, as `/hub/api/openapi.json` serves it. */
export function openApiDocument(api: ApiRegistry): Record<string, unknown> {
  return api.openapi({ title: 'Atrium hub API', version: VERSION });
}
