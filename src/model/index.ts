export * from './types.js';
export { loadFile, parseServices } from './load.js';
