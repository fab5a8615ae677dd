import { createHmac } from 'node:crypto';
import { Masker } from './masking.js';
import type { Dataset } from './model.js';

/**
 * Masking keys, derived per dataset and per reading team from the hub's
 * masking secret (which never leaves the hub: no process running user code
 * can read it, see docs/spawner-local.md):
 *
 *   key(dataset d, reader r)              = HMAC(secret, "atrium-masking-v2 \0 dataset:d \0 reader:r")
 *   key(join-key column of owner o, r)    = HMAC(secret, "atrium-masking-v2 \0 owner:o \0 reader:r")
 *
 * So the same e-mail is a different token in different datasets and for
 * different teams: tokens cannot be linked across teams, and a dictionary
 * built by hashing candidate values in one dataset (say, a public list
 * uploaded with a hashed column) says nothing about another. Members of one
 * team share their tokens, so joins within a team's view of a dataset
 * work; owners who want their datasets joinable mark the shared column as
 * a join key, which uses one key across that owner's datasets (still per
 * reading team).
 */
export class MaskingKeys {
  private readonly maskers = new Map<string, Masker>();

  constructor(private readonly secret: Buffer) {}

  /** The masker for one column of `dataset` as read under `scope` (AccessDecision.maskingScope). */
  maskerFor(dataset: Pick<Dataset, 'name' | 'ownerTeam' | 'columns'>, column: string, scope: string): Masker {
    const joinKey = dataset.columns.find((c) => c.name === column)?.joinKey === true;
    const label = `atrium-masking-v2\0${joinKey ? `owner:${dataset.ownerTeam}` : `dataset:${dataset.name}`}\0reader:${scope}`;
    let masker = this.maskers.get(label);
    if (!masker) {
      masker = new Masker(createHmac('sha256', this.secret).update(label).digest());
      // Readers × datasets stays small; a bound keeps a huge catalog from growing it forever.
      if (this.maskers.size >= 10_000) this.maskers.clear();
      this.maskers.set(label, masker);
    }
    return masker;
  }

  /** Column → masker for one read. */
  forRead(dataset: Pick<Dataset, 'name' | 'ownerTeam' | 'columns'>, scope: string): (column: string) => Masker {
    return (column) => this.maskerFor(dataset, column, scope);
  }
}
