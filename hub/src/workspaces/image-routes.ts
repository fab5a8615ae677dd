import { z } from 'zod';
import type { ApiRegistry } from '../core/api.js';
import { signedIn } from '../core/authorization.js';
import type { HubDeps } from '../deps.js';
import { imageSchema, sizeSchema } from '../core/schemas.js';

export function registerImageRoutes(api: ApiRegistry, deps: HubDeps): void {
  const { catalog } = deps;
  api.add({
    method: 'get',
    path: '/images',
    tag: 'images',
    summary: 'The curated image catalog and the sizes each image allows',
    response: z.object({ images: z.array(imageSchema), sizes: z.array(sizeSchema) }),
    authorize: { who: signedIn },
    handler: async () => ({
      images: catalog.images.map((i) => ({
        name: i.name,
        displayName: i.displayName,
        description: i.description,
        version: i.version,
        packages: i.packages,
        recommended: i.recommended,
        deprecated: i.deprecated,
        sizes: i.sizes,
        defaultSize: i.defaultSize,
      })),
      sizes: catalog.sizes.map((s) => ({
        name: s.name,
        displayName: s.displayName,
        description: s.description,
        cpu: s.cpu,
        memoryMiB: s.memoryMiB,
        gpu: s.gpu,
        available: deps.manager.isSizeAvailable(s),
      })),
    }),
  });
}
