import { appendFileSync } from 'node:fs';

/** Module customization hook (runs off the main thread): records each URL, then loads it as usual. */
export async function load(url, context, nextLoad) {
  if (process.env.KILN_RECORD_IMPORTS) appendFileSync(process.env.KILN_RECORD_IMPORTS, `${url}\n`);
  return nextLoad(url, context);
}
