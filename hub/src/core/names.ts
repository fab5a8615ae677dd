import { z } from 'zod';

/**
 * The naming rules of everything a person names in Atrium. Names end up in
 * URLs, folder names (`~/datasets/<name>/`), Kubernetes namespaces and
 * object keys, so each rule is written once, here, and every schema,
 * configuration check and handler builds on it: a team name valid in one
 * place is valid in all of them.
 */
export interface NameRule {
  readonly pattern: RegExp;
  readonly maxLength: number;
  /** The rule in words, completing "<what> …". */
  readonly says: string;
}

/** Lower-case letters, digits and dashes, starting and ending with a letter or digit: valid as a DNS label. */
const SLUG = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const SLUG_SAYS = 'may contain only lower-case letters, digits and dashes, and must start and end with a letter or digit';

export const USER_NAME: NameRule = { pattern: SLUG, maxLength: 63, says: SLUG_SAYS };
export const TEAM_NAME: NameRule = { pattern: SLUG, maxLength: 63, says: SLUG_SAYS };
/** A workspace (the API's older word for it: server). */
export const WORKSPACE_NAME: NameRule = { pattern: SLUG, maxLength: 63, says: SLUG_SAYS };
export const MODEL_NAME: NameRule = { pattern: SLUG, maxLength: 63, says: SLUG_SAYS };
/** A deployment's alias (staging, production, or another a platform admin deploys under). */
export const JOB_NAME: NameRule = { pattern: SLUG, maxLength: 63, says: SLUG_SAYS };
export const SERVING_ALIAS: NameRule = { pattern: SLUG, maxLength: 63, says: SLUG_SAYS };
/** Datasets existed before this module with a trailing dash allowed; names already stored keep working. */
export const DATASET_NAME: NameRule = { pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, maxLength: 63, says: 'must be 1–63 lower-case letters, digits or dashes, starting with a letter or digit' };
export const ARTICLE_ID: NameRule = { pattern: /^[a-z0-9][a-z0-9-]*$/, maxLength: 80, says: 'may contain only lower-case letters, digits and dashes, and must start with a letter or digit' };
export const TAG: NameRule = { pattern: /^[a-z0-9][a-z0-9-]*$/, maxLength: 40, says: 'may contain only lower-case letters, digits and dashes' };

/**
 * The team that owns the platform's own knowledge-base articles. It need not
 * exist as a team: platform admins act for it.
 */
export const PLATFORM_TEAM = 'platform';

export function isValidName(rule: NameRule, value: string): boolean {
  return value.length >= 1 && value.length <= rule.maxLength && rule.pattern.test(value);
}

/** A zod schema for a name, with messages that say which name is wrong: "team name must …". */
export function nameSchema(rule: NameRule, what: string) {
  return z
    .string({ error: `${what} is required` })
    .min(1, `${what} must not be empty`)
    .max(rule.maxLength, `${what} must be at most ${rule.maxLength} characters`)
    .regex(rule.pattern, `${what} ${rule.says}`);
}

export const userName = nameSchema(USER_NAME, 'user name');
export const teamName = nameSchema(TEAM_NAME, 'team name');
export const workspaceName = nameSchema(WORKSPACE_NAME, 'workspace name');
export const modelName = nameSchema(MODEL_NAME, 'model name');
export const servingAlias = nameSchema(SERVING_ALIAS, 'alias');
export const jobName = nameSchema(JOB_NAME, 'job name');

/** `<team>/<model>`, as model-scoped API tokens name their model. */
export const teamSlashModel = z
  .string()
  .max(TEAM_NAME.maxLength + 1 + MODEL_NAME.maxLength)
  .refine((s) => {
    const [team, model, ...rest] = s.split('/');
    return rest.length === 0 && team !== undefined && model !== undefined && isValidName(TEAM_NAME, team) && isValidName(MODEL_NAME, model);
  }, 'model must be "<team>/<model>"');
