import type { Document } from 'yaml';
import { InputError } from './errors.js';

/**
 * Alias references allowed in one document: kiln.yaml and manifests need few; a "billion laughs"
 * document (aliases of aliases) needs thousands, and expanding it would exhaust memory.
 */
export const MAX_YAML_ALIASES = 100;

/**
 * A parsed YAML document's data, with the `yaml` package's refusals (an alias bomb, an alias to
 * nothing) as one InputError line naming the file, instead of a stack trace.
 */
export function yamlData(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const why = /excessive alias count/i.test(message)
      ? `YAML aliases expand too far (more than ${MAX_YAML_ALIASES} alias references or a nested alias bomb), expected plain YAML with few anchors`
      : `invalid YAML: ${message.split('\n')[0]}`;
    throw new InputError(`${file}: ${why}`, { cause: error });
  }
}
