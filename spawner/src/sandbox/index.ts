export type { Sandbox, SandboxKind, SandboxLaunch, SandboxRequest } from './sandbox.js';
export { SandboxUnavailableError, loginNameFor } from './sandbox.js';
export { BubblewrapSandbox, bubblewrapArgs } from './bubblewrap.js';
export type { BubblewrapPlan, BubblewrapSandboxOptions } from './bubblewrap.js';
export { NoSandbox } from './none.js';
export { SandboxIdentities } from './identities.js';
export type { UidRange } from './identities.js';
export { createSandbox } from './create.js';
export type { SandboxOptions } from './create.js';
