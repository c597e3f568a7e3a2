#!/usr/bin/env node
// Entry point of the svcproxy CLI (built code in dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
