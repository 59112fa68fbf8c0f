// `node --import ./record-imports.mjs ...`: appends the URL of every module the process loads to the
// file named by $KILN_RECORD_IMPORTS, so tests can see what a command really loaded.
import { register } from 'node:module';

register('./record-imports-hooks.mjs', import.meta.url);
