export * from './types.js';
export { flatten, sortBackends, type FlattenOptions } from './flatten.js';
export { diff, differences } from './diff.js';
export { renderChangeSet, describePort, describeAspects } from './render.js';
