/** The control plane's public surface: resources, the store contract and its file-backed store, the API, helpers. */
export * from './api.ts';
export * from './api-status.ts';
export * from './apply-all.ts';
export * from './conditions.ts';
export * from './errors.ts';
export * from './file-store.ts';
export * from './memory-store.ts';
export * from './reconciler.ts';
export * from './resources/index.ts';
export type * from './store.ts';
