/**
 * What a pod's status means for the person waiting for their workspace:
 * a progress step, a final failure with a readable reason, or ready.
 */
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';

export type PodVerdict =
  | { kind: 'waiting'; progress: number; message: string }
  | { kind: 'unschedulable'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'ready'; podIP: string }
  /** Its container runs (JupyterLab is starting) but the readiness probe has not passed yet. */
  | { kind: 'started'; podIP: string };

/** Container states that will not fix themselves. */
export const FATAL_WAITING: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'CrashLoopBackOff',
]);

export function podVerdict(pod: V1Pod, image: string): PodVerdict {
  const status = pod.status ?? {};
  const conditions = status.conditions ?? [];
  const container = status.containerStatuses?.[0];
  if (pod.metadata?.deletionTimestamp) return { kind: 'failed', message: 'The workspace pod is being deleted.' };
  if (status.phase === 'Failed' || status.phase === 'Succeeded') {
    const terminated = container?.state?.terminated ?? container?.lastState?.terminated;
    const why = terminated?.reason === 'OOMKilled'
      ? 'JupyterLab ran out of memory (OOMKilled); choose a larger size.'
      : status.message ?? terminated?.reason ?? status.reason ?? 'it exited';
    return { kind: 'failed', message: `The workspace pod stopped: ${why}` };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
    if (/Image|Pull/.test(waiting.reason)) {
      return { kind: 'failed', message: `The image ${image} could not be pulled (${waiting.reason}): ${waiting.message ?? 'no details'}` };
    }
    return { kind: 'failed', message: `JupyterLab could not start (${waiting.reason}): ${waiting.message ?? 'no details'}` };
  }
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { kind: 'unschedulable', message: `No node can run this workspace yet: ${scheduled.message ?? 'unschedulable'}` };
  }
  const ready = conditions.find((c) => c.type === 'Ready')?.status === 'True';
  if (status.phase === 'Running' && ready && status.podIP) return { kind: 'ready', podIP: status.podIP };
  if (status.phase === 'Running' && status.podIP && container?.state?.running) return { kind: 'started', podIP: status.podIP };
  if (status.phase === 'Running') return { kind: 'waiting', progress: 90, message: 'JupyterLab is starting in the pod' };
  if (scheduled?.status === 'True') {
    if (waiting?.reason === 'ContainerCreating' || !container) {
      return { kind: 'waiting', progress: 80, message: `Assigned to node ${pod.spec?.nodeName ?? ''}; pulling ${image} and starting the container`.replace('  ', ' ') };
    }
    return { kind: 'waiting', progress: 80, message: `Starting the container (${waiting?.reason ?? status.phase ?? 'Pending'})` };
  }
  return { kind: 'waiting', progress: 70, message: 'Waiting for a node with room for this workspace' };
}

/** Why a pod that should be running is not, for `poll()`; undefined while it runs. */
export function podStoppedReason(pod: V1Pod | undefined): string | undefined {
  if (!pod) return 'Its pod no longer exists in the cluster.';
  if (pod.metadata?.deletionTimestamp) return 'Its pod is being deleted.';
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') {
    const t = pod.status?.containerStatuses?.[0]?.state?.terminated;
    if (t?.reason === 'OOMKilled') return 'JupyterLab ran out of memory (OOMKilled); choose a larger size.';
    return `Its pod ended (${pod.status?.reason ?? t?.reason ?? phase}).`;
  }
  return undefined;
}

/** An Event as one line of progress, e.g. "Pulling: Pulling image …". */
export function eventMessage(event: CoreV1Event): string {
  return `${event.reason ?? 'Event'}: ${event.message ?? ''}`.trim();
}
