import { forbidden, notFound } from '../core/errors.js';
import { type Actor, mayMoveAlias, mayWorkWithModelsOf } from '../core/authorization.js';
import type { Alias, ModelRecord, ModelStore, VersionRecord } from './store.js';

/** Refuse, with a sentence saying why, unless `actor` may `action` (publish, change, see) the team's models. */
export function requireModelsOf(actor: Actor, team: string, action: string): void {
  if (!mayWorkWithModelsOf(actor, team)) throw forbidden(`You are not a member of team ${team}, so you cannot ${action} its models.`);
}

/** Refuse, with a sentence saying why, unless `actor` may promote to or roll back `alias`. */
export function requireAliasRight(actor: Actor, team: string, alias: Alias): void {
  requireModelsOf(actor, team, 'change');
  if (!mayMoveAlias(actor, team, alias)) {
    throw forbidden(`Only admins of team ${team} can change what serves production. Ask one of them, or promote to staging.`);
  }
}

/** Models and versions as one caller may see them. */
export class VisibleModels {
  constructor(private readonly store: ModelStore) {}

  /** Another team's model answers exactly like a missing one: names are not an oracle. */
  async model(actor: Actor, team: string, name: string): Promise<ModelRecord> {
    const hidden = () => notFound(`There is no model ${team}/${name} that you can see.`);
    if (!mayWorkWithModelsOf(actor, team)) throw hidden();
    const model = await this.store.getModel(team, name);
    if (!model) throw hidden();
    return model;
  }

  async version(actor: Actor, team: string, name: string, version: number): Promise<VersionRecord> {
    await this.model(actor, team, name);
    const v = await this.store.getVersion(team, name, version);
    if (!v) throw notFound(`Model ${team}/${name} has no version ${version}.`);
    return v;
  }
}
