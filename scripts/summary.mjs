// Prints the suite's closing line, "N passed, N failed, N skipped", summed over
// the vitest JSON reports given (host and UML). Fails if a report is missing.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0, missing = false;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    if (file.includes('uml') && !existsSync('scripts/test-uml.sh')) continue;
    console.error(`summary: ${file} missing (suite did not run)`);
    missing = true;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(missing || failed > 0 ? 1 : 0);
