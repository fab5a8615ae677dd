export * from './spawner.js';
export {
  loadCatalog,
  parseCatalog,
  parseMemoryMiB,
  checkPackagePins,
  readRequirementPins,
  CatalogError,
} from './catalog.js';
export type { Catalog, CatalogImage, CatalogSize, CatalogPackage, CatalogIssue, LoadCatalogOptions } from './catalog.js';
export { jupyterLabArgs, jupyterLabCommand, jupyterServerCommand, hubSettings } from './jupyterlab.js';
export type { JupyterLabPlacement } from './jupyterlab.js';
export { KeyedInFlight, KeyedLock, KeyedOnce } from './keyed.js';
export * from './local/index.js';
export * from './model-server.js';
export { LocalModelServer, MODEL_SERVER_SCRIPT } from './models/local-model-server.js';
export type { LocalModelServerOptions, LocalModelServerState } from './models/local-model-server.js';
export * from './kubernetes/index.js';
export * from './sandbox/index.js';
