/**
 * What the Models panel says about guardrail results, from the hub's own
 * fields: when they ran (`checkedAt`, `guardrailsAt`) and whether a
 * promotion may start (`promotable`, decided by the hub).
 */
import type { GuardrailResult, ModelVersion } from './apiTypes';

/** A time for people, in the browser's locale. */
const formatTime = (epochMs: number): string => new Date(epochMs).toLocaleString();

/**
 * When the version's guardrail results were last written (at publish, then
 * when the clean re-run finished); null while they are still running, or for
 * versions the hub recorded no time for.
 */
export function guardrailsCheckedLabel(version: Pick<ModelVersion, 'guardrailStatus' | 'guardrailsAt'>): string | null {
  if (version.guardrailStatus === 'pending' || version.guardrailsAt === null) return null;
  return `checked ${formatTime(version.guardrailsAt)}`;
}

/** A guardrail's own time: when it ran, or that it has not yet (a pending result's time is when it was queued). */
export function guardrailCheckedLabel(guardrail: Pick<GuardrailResult, 'status' | 'checkedAt'>): string {
  return guardrail.status === 'pending' ? 'Waiting to run' : `Checked ${formatTime(guardrail.checkedAt)}`;
}

/**
 * Whether "Promote" may be pressed and, if not, why: the hub decides
 * (promotion re-runs every guardrail, so a failed warning may not block it
 * while a missing approval does).
 */
export function promotionReadiness(version: Pick<ModelVersion, 'promotable'>): { ready: boolean; reason: string } {
  return { ready: version.promotable.ok, reason: version.promotable.reason ?? '' };
}
