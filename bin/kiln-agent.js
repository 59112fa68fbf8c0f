#!/usr/bin/env node
// Compiled by `npm ci` / `npm run build` (the `prepare` script) into build/.
import { main } from '../build/runner-agent/src/cli.js';

process.exitCode = await main(process.argv.slice(2));
