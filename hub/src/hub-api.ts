import { z } from 'zod';
import { ApiRegistry } from './core/api.js';
import type { HubDeps } from './deps.js';
import { FEATURES } from './features.js';

export const VERSION = '0.1.0';

/**
 * The hub's whole REST API: every feature's routes, in the order of
 * `FEATURES`, and the version route. The running hub (`app.ts`) and
 * `atrium-hub openapi` both build it here, so the document a client is
 * generated from is the one the hub serves.
 */
export function hubApi(deps: HubDeps): ApiRegistry {
  const api = new ApiRegistry();
  for (const feature of FEATURES) feature.routes?.(api, deps);
  api.add({
    method: 'get',
    path: '/',
    tag: 'hub',
    summary: 'Hub version',
    access: 'public',
    response: z.object({ name: z.literal('atrium'), version: z.string() }),
    handler: async () => ({ name: 'atrium', version: VERSION }),
  });
  return api;
}

/** The OpenAPI document of `api`, as `/hub/api/openapi.json` serves it. */
export function openApiDocument(api: ApiRegistry): Record<string, unknown> {
  return api.openapi({ title: 'Atrium hub API', version: VERSION });
}
