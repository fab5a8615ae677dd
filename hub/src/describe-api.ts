import type { HubDeps } from './deps.js';
import { hubApi, openApiDocument } from './hub-api.js';

/**
 * A stand-in for a service that must not be used: reading any property
 * gives another stand-in, calling or constructing one throws and names the
 * path (e.g. `deps.models.registry.store.aliases()`). Route declarations
 * only keep references to services for their handlers, so they can be
 * declared against these without a database, a spawner or a secret key.
 */
function unusable(path: string): unknown {
  const refuse = (): never => {
    throw new Error(`${path} was used while the API was only being described: route declarations must not call services (only their handlers may)`);
  };
  return new Proxy(function unusableService() {}, {
    get(_target, property) {
      // Not a promise: `await deps.x` and promise checks must not see a `then` method.
      if (property === 'then') return undefined;
      return unusable(`${path}.${String(property)}`);
    },
    apply: refuse,
    construct: refuse,
    set: refuse,
  });
}

/**
 * The hub's OpenAPI document without starting a hub: no configuration is
 * read, no database opened, nothing listens. It is what a running hub
 * serves at `/hub/api/openapi.json` (the API's integration test checks
 * that), and what the clients' types are generated from (`npm run api-types`).
 */
export function describeHubApi(): Record<string, unknown> {
  return openApiDocument(hubApi(declarationOnlyDeps()));
}

/** Services for declaring routes only: using any of them throws. */
export function declarationOnlyDeps(): HubDeps {
  return unusable('deps') as HubDeps;
}
