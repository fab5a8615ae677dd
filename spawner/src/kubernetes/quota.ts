/**
 * Turning Kubernetes' quota refusals into sentences a data scientist can act
 * on: "Team supply-chain has 0 of 8 GPUs left", not "exceeded quota:
 * atrium-team-quota, requested: requests.nvidia.com/gpu=1, used: …".
 */

/** Parse a Kubernetes quantity into a number (cores, bytes, counts). */
export function parseQuantity(value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  const factors: Record<string, number> = {
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  };
  return n * (m[2] ? factors[m[2]]! : 1);
}

interface ResourceWords {
  /** Format an amount, e.g. 8 → "8 GPUs". */
  format(amount: number): string;
  /** The bare number in the same unit, e.g. 2^31 bytes → "2" (GiB). */
  number(amount: number): string;
}

const plural = (n: number, one: string, many: string) => `${formatNumber(n)} ${n === 1 ? one : many}`;
function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1).replace(/\.0$/, '');
}
const gib = (bytes: number) => bytes / 2 ** 30;

function wordsFor(resource: string, gpuResource: string): ResourceWords {
  const base = resource.replace(/^(requests|limits)\./, '');
  const count = (one: string, many: string): ResourceWords => ({ format: (n) => plural(n, one, many), number: formatNumber });
  const bytes = (what: string): ResourceWords => ({ format: (n) => `${formatNumber(gib(n))} GiB of ${what}`, number: (n) => formatNumber(gib(n)) });
  if (base === gpuResource) return count('GPU', 'GPUs');
  if (base === 'cpu') return count('CPU', 'CPUs');
  if (base === 'memory') return bytes('memory');
  if (base === 'storage') return bytes('home storage');
  if (base === 'pods') return count('running workspace', 'running workspaces');
  if (base === 'persistentvolumeclaims') return count('home volume', 'home volumes');
  return { format: (n) => `${formatNumber(n)} ${base}`, number: formatNumber };
}

export interface QuotaShortage {
  resource: string;
  requested: number;
  used: number;
  limited: number;
}

/**
 * Parse the API server's refusal, e.g.
 * `exceeded quota: atrium-team-quota, requested: pods=1,requests.nvidia.com/gpu=1, used: pods=3,requests.nvidia.com/gpu=8, limited: pods=20,requests.nvidia.com/gpu=8`.
 */
export function parseQuotaRefusal(message: string): QuotaShortage[] {
  const m = /exceeded quota: [^,]+, requested: (.*?), used: (.*?), limited: (.*?)(?:$|")/.exec(message);
  if (!m) return [];
  const parse = (s: string) => new Map(s.split(',').map((pair) => pair.split('=') as [string, string]).filter((p) => p.length === 2));
  const requested = parse(m[1]!);
  const used = parse(m[2]!);
  const limited = parse(m[3]!);
  const out: QuotaShortage[] = [];
  for (const [resource, req] of requested) {
    const r = parseQuantity(req);
    const u = parseQuantity(used.get(resource));
    const l = parseQuantity(limited.get(resource));
    if (u + r > l) out.push({ resource, requested: r, used: u, limited: l });
  }
  return out;
}

export function quotaMessage(team: string, shortages: QuotaShortage[], gpuResource: string): string {
  const first = shortages[0];
  if (!first) return `Team ${team} has used up its quota. Stop one of your team's workspaces or ask your platform team for more.`;
  const words = wordsFor(first.resource, gpuResource);
  const left = Math.max(0, first.limited - first.used);
  return (
    `Team ${team} has ${words.number(left)} of ${words.format(first.limited)} left ` +
    `(this workspace needs ${words.format(first.requested)}). ` +
    `Stop another of your team's workspaces, choose a smaller size, or ask your platform team for more.`
  );
}
