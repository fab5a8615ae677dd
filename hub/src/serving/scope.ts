/** API-token scopes for model serving: `model:<team>/<model>`. */
export function modelScope(teamSlashModel: string): string {
  return `model:${teamSlashModel}`;
}

/** Does a token with `scope` (null = personal) allow predictions of team/model? Personal tokens do not. */
export function scopeAllowsModel(scope: string | null | undefined, team: string, model: string): boolean {
  return scope === `model:${team}/${model}`;
}
