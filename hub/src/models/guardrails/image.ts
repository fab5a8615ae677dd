import type { Guardrail } from './types.js';

/** Only curated, current images run in production: they are patched and reproducible. */
export const imageGuardrail: Guardrail = {
  id: 'image',
  title: 'Curated, non-deprecated image',
  async check({ image, imageVersion }, { catalog }) {
    const entry = catalog.findImage(image);
    if (!entry) {
      return { ok: false, reason: `"${image}" is not a curated image. Use one of: ${catalog.images.filter((i) => !i.deprecated).map((i) => i.name).join(', ')}.` };
    }
    if (entry.deprecated) {
      return { ok: false, reason: `The ${entry.displayName} image is deprecated. Re-run the notebook in a current image and publish again.` };
    }
    if (entry.version !== imageVersion) {
      return {
        ok: false,
        reason: `The notebook ran in ${entry.name} ${imageVersion}, but the curated version is now ${entry.version}. Re-run it in a fresh workspace and publish again.`,
      };
    }
    return { ok: true, reason: `${entry.displayName} ${entry.version} is curated and current.` };
  },
};
