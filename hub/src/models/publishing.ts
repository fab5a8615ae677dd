import type { Catalog } from '@atrium/spawner';
import { badRequest, notFound } from '../core/errors.js';
import type { BundleStore } from './bundles.js';
import type { GuardrailChecks } from './guardrail-checks.js';
import type { DatasetRef, GuardrailInput, ModelCard } from './guardrails/types.js';
import type { KeyedLock } from '@atrium/spawner';
import { requireModelsOf } from './model-access.js';
import { type Notebook, namedArtifacts, serializeNotebook, sha256 } from './notebook.js';
import type { Actor } from '../core/authorization.js';
import type { ModelStore, VersionRecord } from './store.js';

export interface PublishInput {
  displayName?: string | undefined;
  notebook: Notebook;
  notebookPath: string;
  artifacts: { name: string; contentBase64: string }[];
  image: string;
  imageVersion?: string | undefined;
  datasets: DatasetRef[];
  card: ModelCard;
  smokeInput?: unknown;
}

export interface PublishingParts {
  store: ModelStore;
  bundles: BundleStore;
  checks: GuardrailChecks;
  catalog: Catalog;
  /** Publishing and promotion share it: one change per model at a time. */
  lock: KeyedLock;
  teamExists: (team: string) => Promise<boolean>;
}

/** The artifact files a publish request carries, decoded; refused when the notebook names one that is missing. */
function artifactFiles(notebook: Notebook, artifacts: PublishInput['artifacts']): Map<string, Buffer> {
  const sent = new Map<string, Buffer>();
  artifacts.forEach((a, i) => {
    if (sent.has(a.name)) throw badRequest(`artifact ${a.name} is sent twice`, `artifacts.${i}.name`);
    sent.set(a.name, Buffer.from(a.contentBase64, 'base64'));
  });
  const missing = namedArtifacts(notebook).filter((n) => !sent.has(n));
  if (missing.length > 0) {
    throw badRequest(`The notebook names artifacts/${missing[0]} but it was not sent. Run the notebook so it writes the file, then publish again.`, 'artifacts');
  }
  return sent;
}

/**
 * Publish a notebook as the model's next version: its bundle is written
 * once and never changes, the quick guardrails answer in the response, and
 * the clean re-run follows in the background.
 */
export async function publish(parts: PublishingParts, actor: Actor, team: string, name: string, input: PublishInput): Promise<VersionRecord> {
  const { store, bundles, checks } = parts;
  requireModelsOf(actor, team, 'publish');
  if (!(await parts.teamExists(team))) throw notFound(`Team ${team} does not exist.`);
  const imageVersion = input.imageVersion ?? parts.catalog.findImage(input.image)?.version ?? 'unknown';
  const sent = artifactFiles(input.notebook, input.artifacts);
  const notebookText = serializeNotebook(input.notebook);
  // One publish per model at a time: version numbers are dense and unique.
  return parts.lock.run(`${team}/${name}`, async () => {
    if (!(await store.getModel(team, name))) await store.createModel(team, name, input.displayName ?? name, actor.name);
    const version = (await store.latestVersionNumber(team, name)) + 1;
    const written = bundles.write({
      team,
      model: name,
      version,
      image: input.image,
      imageVersion,
      notebook: notebookText,
      artifacts: [...sent].map(([n, content]) => ({ name: n, content })),
    });
    const guardInput: GuardrailInput = {
      team,
      model: name,
      version,
      notebook: input.notebook,
      card: input.card,
      image: input.image,
      imageVersion,
      datasets: input.datasets,
      smokeInput: input.smokeInput,
      bundleDir: written.dir,
      author: actor.name,
    };
    const checked = await checks.atPublish(guardInput);
    const record: VersionRecord = {
      team,
      model: name,
      version,
      author: actor.name,
      createdAt: Date.now(),
      notebookSha256: sha256(notebookText),
      notebookPath: input.notebookPath,
      image: input.image,
      imageVersion,
      datasets: input.datasets,
      artifacts: written.artifacts,
      card: input.card,
      metrics: {},
      smokeInput: input.smokeInput,
      guardrailStatus: checked.status,
      guardrails: checked.results,
      guardrailsAt: Date.now(),
    };
    try {
      await store.insertVersion(record);
    } catch (err) {
      bundles.remove(team, name, version);
      throw err;
    }
    if (record.guardrailStatus === 'pending') checks.finishInBackground(guardInput, record.guardrails);
    return record;
  });
}
