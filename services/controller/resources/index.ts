export * from './common.ts';
export * from './eventing.ts';
export * from './inference.ts';
export * from './kinds.ts';
export * from './parse.ts';
export * from './serving.ts';
export * from './sources.ts';
export type * from './types.ts';
export * from './validate.ts';
