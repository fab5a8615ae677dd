/**
 * The few questions the hub asks a running JupyterLab, always with the
 * per-server token, never on behalf of a browser.
 */
export interface ServerActivity {
  /** JupyterLab's own idea of when it was last used (API calls, kernel messages). */
  lastActivity: number;
  kernels: number;
  busyKernels: number;
  connections: number;
}

const TIMEOUT_MS = 5_000;

async function getJson(url: string, token: string, timeoutMs = TIMEOUT_MS): Promise<unknown> {
  const response = await fetch(url, {
    headers: { Authorization: `token ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'manual',
  });
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return response.json();
}

/** True once the server answers its status endpoint with our token. */
export async function isServerReady(target: string, baseUrl: string, token: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    await getJson(`${target}${baseUrl}api/status`, token, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

export async function fetchActivity(target: string, baseUrl: string, token: string): Promise<ServerActivity> {
  const status = (await getJson(`${target}${baseUrl}api/status`, token)) as {
    last_activity?: string;
    started?: string;
    kernels?: number;
    connections?: number;
  };
  // no_track_activity keeps the hub's own check from counting as use.
  const kernels = (await getJson(`${target}${baseUrl}api/kernels?no_track_activity=1`, token)) as {
    execution_state?: string;
    last_activity?: string;
  }[];
  const times = [status.last_activity, status.started, ...kernels.map((k) => k.last_activity)]
    .map((t) => (t ? Date.parse(t) : NaN))
    .filter((t) => Number.isFinite(t));
  return {
    lastActivity: times.length ? Math.max(...times) : 0,
    kernels: kernels.length,
    busyKernels: kernels.filter((k) => k.execution_state === 'busy').length,
    connections: status.connections ?? 0,
  };
}
