import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * onnxruntime-node's version from its package.json: what `ort.env.versions.node` reports, read
 * without loading the native addon (a cache hit keys engines by it and opens no session).
 */
export function ortPackageVersion(): string {
  const manifest = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}
