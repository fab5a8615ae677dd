import type { Store } from '../store.js';
import { log } from '../core/log.js';
import type { Authenticator } from './authenticator.js';
import type { IdentityService, RequestIdentity, SessionRefresher } from './identity.js';
import { syncAuthenticatedUser } from './sync-user.js';

/**
 * Keeps provider-backed sessions honest: when the tokens are due, refresh
 * them; apply the provider's current teams and roles (a user removed from a
 * group loses that team now); end the hub session when the provider's
 * session ended, refreshing failed, or the user has no team left.
 */
export function sessionRefresher(store: Store, identity: IdentityService, authenticator: Authenticator): SessionRefresher {
  return async (who: RequestIdentity) => {
    if (!authenticator.refresh || !authenticator.needsRefresh?.(who.authState)) return who;
    const idHash = who.sessionIdHash!;
    const end = async (reason: string) => {
      await identity.endSession(idHash);
      log.info('session ended', { user: who.user.name, reason });
      return undefined;
    };
    const fresh = await authenticator.refresh(who.authState);
    if (!fresh) return end('the identity provider session ended or the token refresh failed');
    if (fresh.name !== who.user.name) return end('the identity provider now names a different user');
    if (fresh.teams?.length === 0 && !fresh.platformAdmin) return end('no team any more');
    await syncAuthenticatedUser(store, fresh);
    await identity.updateSessionAuthState(idHash, fresh.authState);
    identity.invalidateUser(who.user.name);
    return identity.fromSessionHash(idHash);
  };
}
