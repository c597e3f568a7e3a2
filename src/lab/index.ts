/** The lab: measure the modes side by side in a closed sandbox (see run.ts). */
export { runLab, resolveOptions } from './run.js';
export { writeReport } from './report.js';
export { renderHtml } from './html.js';
export { renderMarkdown } from './markdown.js';
export { consoleReport } from './table.js';
export { checkTargets, type TargetCheck } from './targets.js';
export type * from './types.js';
