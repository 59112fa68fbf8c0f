#!/usr/bin/env node
// build/ is compiled by `prepare` in a checkout (`npm ci`, `npm run build`) and by `prepack` for the
// npm package, which ships it.
import { main } from '../build/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
