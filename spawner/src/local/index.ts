export { LocalProcessSpawner } from './local-spawner.js';
export type { LocalProcessSpawnerOptions, LocalSpawnerState } from './local-spawner.js';
export { EnvironmentManager, InstallProgress, envHash } from './environments.js';
export type { EnvironmentManagerOptions, PythonInfo } from './environments.js';
export { detectCgroups, removeCgroups, wrapCommand } from './limits.js';
export { readCgroupUsage } from './usage.js';
export type { MemoryEnforcement, AppliedLimits, CgroupSupport } from './limits.js';
export { bootId, isSameProcess, processesWithEnv, readEnviron, readProcStat, signalProcess } from './process.js';
