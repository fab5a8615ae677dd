import path from 'node:path';
import { BubblewrapSandbox } from './bubblewrap.js';
import type { UidRange } from './identities.js';
import { NoSandbox } from './none.js';
import type { Sandbox, SandboxKind } from './sandbox.js';

export interface SandboxOptions {
  kind: SandboxKind;
  /** The hub's state directory; the sandbox keeps `sandbox/` (uids, passwd files) in it. */
  stateDir: string;
  uids?: UidRange;
}

/** The sandbox the configuration asks for. */
export function createSandbox(options: SandboxOptions): Sandbox {
  if (options.kind === 'none') return new NoSandbox();
  return new BubblewrapSandbox({ dir: path.join(options.stateDir, 'sandbox'), ...(options.uids ? { uids: options.uids } : {}) });
}
