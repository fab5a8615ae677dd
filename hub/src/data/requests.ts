import { badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import { randomToken } from '../core/secrets.js';
import type { AccessDecider } from './access-decider.js';
import type { AuditTrail } from './audit-trail.js';
import { approvedUnder } from './grants.js';
import type { AccessRequest, Dataset, Grant, GranteeKind } from './model.js';
import { canManageDataset, isMemberOf, isPlatformAdmin, isSelf, isTeamAdminOf } from '../core/authorization.js';
import { approvalsNeeded, MAX_GRANT_DAYS, MAX_RESTRICTED_DAYS, type Subject } from './access-policy.js';
import type { DataStore } from './store.js';

const DAY = 86_400_000;

export type ApprovalStep = 'team' | 'platform';

/**
 * Access requests: asking for access with a purpose, the approvals it needs
 * (an admin of the owning team; for restricted data also a platform admin,
 * two different people), rejecting and withdrawing. A complete approval
 * becomes a grant.
 */
export class AccessRequests {
  constructor(
    private readonly data: DataStore,
    private readonly access: AccessDecider,
    private readonly audit: AuditTrail,
  ) {}

  async create(subject: Subject, name: string, input: { purpose: string; pii: boolean; expiresAt: number | null; team: string | null }): Promise<AccessRequest> {
    const d = await this.access.requireDataset(name);
    const now = Date.now();
    const decision = await this.access.decide(subject, d, now);
    if (decision.allowed && (decision.piiCleared || !input.pii)) {
      throw conflict(`You already have access to ${d.name}: ${decision.reason}`, 'already_granted');
    }
    let granteeKind: GranteeKind = 'user';
    let grantee = subject.name;
    if (input.team) {
      if (!isMemberOf(subject, input.team)) throw forbidden(`You can only request access for a team you belong to, not ${input.team}.`);
      granteeKind = 'team';
      grantee = input.team;
    }
    if (input.expiresAt !== null && input.expiresAt <= now) throw badRequest('expiresAt must be in the future.', 'expiresAt');
    if (d.classification === 'restricted') {
      if (granteeKind === 'team') throw badRequest('Restricted data is granted to people, not teams: request it for yourself.', 'team');
      if (input.expiresAt === null) throw badRequest('Restricted data needs an end date for the access (expiresAt).', 'expiresAt');
      if (input.expiresAt > now + MAX_RESTRICTED_DAYS * DAY) throw badRequest(`Access to restricted data may last at most ${MAX_RESTRICTED_DAYS} days.`, 'expiresAt');
    } else if (input.expiresAt !== null && input.expiresAt > now + MAX_GRANT_DAYS * DAY) {
      throw badRequest(`Access may last at most ${MAX_GRANT_DAYS} days.`, 'expiresAt');
    }
    const open = await this.data.listRequests({ status: 'pending', dataset: d.name, requester: subject.name });
    if (open.length > 0) throw conflict(`You already have a pending request for ${d.name} (sent ${new Date(open[0]!.createdAt).toISOString().slice(0, 10)}).`, 'request_pending');
    const request: AccessRequest = {
      // Unguessable: ids appear in URLs and forms.
      id: `req_${randomToken(16)}`,
      dataset: d.name,
      requester: subject.name,
      granteeKind,
      grantee,
      purpose: input.purpose,
      pii: input.pii,
      expiresAt: input.expiresAt,
      status: 'pending',
      teamApprovedBy: null,
      teamApprovedAt: null,
      platformApprovedBy: null,
      platformApprovedAt: null,
      decidedBy: null,
      decidedAt: null,
      decisionNote: null,
      createdAt: now,
    };
    await this.data.createRequest(request);
    await this.audit.record(subject.name, 'request.create', d, { request: request.id, purpose: input.purpose, pii: input.pii, grantee: `${granteeKind}:${grantee}`, expiresAt: input.expiresAt });
    return request;
  }

  /** Pending requests this person may approve a step of. */
  async inbox(subject: Subject): Promise<{ request: AccessRequest; dataset: Dataset; canApprove: ApprovalStep[] }[]> {
    const pending = await this.data.listRequests({ status: 'pending' });
    const out = [];
    for (const r of pending) {
      const d = await this.data.getDataset(r.dataset);
      if (!d) continue;
      const canApprove = approvalStepsFor(subject, r, d);
      if (canApprove.length > 0) out.push({ request: r, dataset: d, canApprove });
    }
    return out;
  }

  async mine(subject: Subject): Promise<AccessRequest[]> {
    return this.data.listRequests({ requester: subject.name });
  }

  async get(subject: Subject, id: string): Promise<AccessRequest> {
    return (await this.requireRequest(subject, id)).r;
  }

  async approve(subject: Subject, id: string, note: string): Promise<{ request: AccessRequest; grant: Grant | null }> {
    const { r, d } = await this.requireRequest(subject, id);
    if (r.status !== 'pending') throw conflict(`This request was already ${r.status}.`, 'request_closed');
    if (isSelf(subject, r.requester)) throw forbidden('You cannot approve your own request: another admin must.');
    const roles = approvalStepsFor(subject, r, d);
    if (roles.length === 0) {
      const who = d.classification === 'restricted' ? `an admin of ${d.ownerTeam} and a platform admin (two different people)` : `an admin of ${d.ownerTeam}`;
      throw forbidden(`Only ${who} can approve access to ${d.name}.`);
    }
    if (r.granteeKind === 'team' && d.classification === 'restricted') {
      throw conflict(`${d.name} is restricted now, and restricted data is granted to people, not teams: ask ${r.requester} to request it for themselves.`, 'restricted_is_personal');
    }
    const now = Date.now();
    const patch: Record<string, unknown> = {};
    if (roles.includes('team')) Object.assign(patch, { team_approved_by: subject.name, team_approved_at: now });
    else if (roles.includes('platform')) Object.assign(patch, { platform_approved_by: subject.name, platform_approved_at: now });
    const after = { ...r, teamApprovedBy: (patch.team_approved_by as string) ?? r.teamApprovedBy, platformApprovedBy: (patch.platform_approved_by as string) ?? r.platformApprovedBy };
    const complete = approvalsNeeded(d.classification).every((step) => (step === 'team' ? after.teamApprovedBy : after.platformApprovedBy));
    if (r.expiresAt !== null && r.expiresAt <= now) throw conflict('The access this request asks for has already ended (expiresAt is past): ask for a new request.', 'request_expired');
    let grant: Grant | null = null;
    if (complete) {
      Object.assign(patch, { status: 'approved', decided_by: subject.name, decided_at: now, decision_note: note || null });
    }
    await this.data.updateRequest(r.id, patch);
    await this.audit.record(subject.name, 'request.approve', d, { request: r.id, step: roles.includes('team') ? 'team' : 'platform', complete, note, purpose: r.purpose });
    if (complete) {
      grant = await this.data.createGrant({ dataset: d.name, granteeKind: r.granteeKind, grantee: r.grantee, piiCleared: r.pii, purpose: r.purpose, requestId: r.id, grantedBy: subject.name, createdAt: now, expiresAt: r.expiresAt, ...approvedUnder(d) });
      await this.audit.record(subject.name, 'grant.create', d, { grant: grant.id, request: r.id, grantee: `${grant.granteeKind}:${grant.grantee}`, piiCleared: grant.piiCleared, expiresAt: grant.expiresAt, purpose: r.purpose });
    }
    return { request: (await this.data.getRequest(r.id))!, grant };
  }

  async reject(subject: Subject, id: string, note: string): Promise<AccessRequest> {
    const { r, d } = await this.requireRequest(subject, id);
    if (r.status !== 'pending') throw conflict(`This request was already ${r.status}.`, 'request_closed');
    if (!canManageDataset(subject, d) || isSelf(subject, r.requester)) throw forbidden(`Only admins of ${d.ownerTeam} or platform admins can reject this request.`);
    await this.data.updateRequest(r.id, { status: 'rejected', decided_by: subject.name, decided_at: Date.now(), decision_note: note || null });
    await this.audit.record(subject.name, 'request.reject', d, { request: r.id, note, purpose: r.purpose });
    return (await this.data.getRequest(r.id))!;
  }

  async withdraw(subject: Subject, id: string): Promise<AccessRequest> {
    const { r, d } = await this.requireRequest(subject, id);
    if (!isSelf(subject, r.requester)) throw forbidden('Only the person who asked can withdraw a request.');
    if (r.status !== 'pending') throw conflict(`This request was already ${r.status}.`, 'request_closed');
    await this.data.updateRequest(r.id, { status: 'withdrawn', decided_by: subject.name, decided_at: Date.now() });
    await this.audit.record(subject.name, 'request.withdraw', d, { request: r.id });
    return (await this.data.getRequest(r.id))!;
  }

  private async requireRequest(subject: Subject, id: string): Promise<{ r: AccessRequest; d: Dataset }> {
    const r = await this.data.getRequest(id);
    const d = r ? await this.data.getDataset(r.dataset) : undefined;
    // The same answer for unknown ids and other people's requests: ids are not an oracle.
    if (!r || !d || !(isSelf(subject, r.requester) || canManageDataset(subject, d))) throw notFound(`There is no access request "${id}" that you can see.`);
    return { r, d };
  }
}

/**
 * Which approval steps this person may give for a request (empty: none).
 * Nobody approves their own request; restricted data needs two different
 * people, the owners' admin and a platform admin, so there a platform admin
 * does not stand in for the team and does not give both steps.
 */
export function approvalStepsFor(subject: Subject, r: AccessRequest, d: Dataset): ApprovalStep[] {
  if (r.status !== 'pending' || isSelf(subject, r.requester)) return [];
  const steps: ApprovalStep[] = [];
  const needed = approvalsNeeded(d.classification);
  if (needed.includes('team') && !r.teamApprovedBy) {
    if (isTeamAdminOf(subject, d.ownerTeam) || (d.classification !== 'restricted' && isPlatformAdmin(subject))) steps.push('team');
  }
  if (needed.includes('platform') && !r.platformApprovedBy && isPlatformAdmin(subject) && (r.teamApprovedBy === null || !isSelf(subject, r.teamApprovedBy))) steps.push('platform');
  return steps;
}
