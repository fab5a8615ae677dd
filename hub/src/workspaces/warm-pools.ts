/**
 * Which warm pools the hub keeps (`workspaces.warmPools`), resolved against
 * the image catalog once at start, so a misspelt image or size stops the hub
 * with a sentence instead of leaving a pool that never fills.
 */
import type { Catalog, WarmPoolSpec } from '@atrium/spawner';
import { ConfigError, type HubConfig } from '../config.js';

export function warmPoolSpecs(config: Pick<HubConfig, 'workspaces' | 'demo' | 'spawner'>, catalog: Catalog): WarmPoolSpec[] {
  const wanted = config.workspaces.warmPools ?? defaultPools(config, catalog);
  const seen = new Set<string>();
  return wanted.map((w, i) => {
    const where = `workspaces.warmPools[${i}]`;
    const image = catalog.findImage(w.image);
    if (!image) throw new ConfigError(`${where}.image: "${w.image}" is not in the image catalog (${catalog.images.map((x) => x.name).join(', ')})`);
    if (!image.sizes.includes(w.size)) throw new ConfigError(`${where}.size: the ${image.name} image has no size "${w.size}" (it has ${image.sizes.join(', ')})`);
    const size = catalog.findSize(w.size)!;
    if (seen.has(`${w.image}/${w.size}`)) throw new ConfigError(`${where}: ${w.image} at size ${w.size} is listed twice`);
    seen.add(`${w.image}/${w.size}`);
    return { image, size, servers: w.servers };
  });
}

/** The demo on this machine keeps one server of what most people start: the recommended image at its default size. */
function defaultPools(config: Pick<HubConfig, 'demo' | 'spawner'>, catalog: Catalog): { image: string; size: string; servers: number }[] {
  if (!config.demo || config.spawner.kind !== 'local') return [];
  const image = catalog.images.find((i) => i.recommended && !i.deprecated);
  return image ? [{ image: image.name, size: image.defaultSize, servers: 1 }] : [];
}
