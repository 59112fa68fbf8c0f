import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * docs/architecture.md "Parts and what may import what", checked against the source: the table is
 * the contract, so a change to either must change both.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Parts in the order of the table; a file belongs to the first part whose folder holds it. */
const PARTS = [
  'src/core',
  'src/backends',
  'src/store',
  'src/pipeline',
  'src/cli',
  'src/action',
  'runner-agent/src',
  'src/index.ts',
] as const;
type Part = (typeof PARTS)[number];

const MAY_IMPORT: Record<Part, readonly Part[]> = {
  'src/core': [],
  'src/backends': ['src/core'],
  'src/store': ['src/core'],
  'src/pipeline': ['src/core', 'src/backends', 'src/store'],
  'src/cli': ['src/core', 'src/backends', 'src/store', 'src/pipeline'],
  // The Action plans in-process through src/cli's planner; the transitive ONNX Runtime check below
  // keeps that import from dragging a backend in.
  'src/action': ['src/core', 'src/cli'],
  'runner-agent/src': ['src/core', 'src/backends', 'src/store', 'src/pipeline', 'src/cli'],
  'src/index.ts': ['src/core'],
};

/** Packages that run native code, processes or the network: pure core logic uses none of them. */
const NOT_IN_CORE = /^(onnxruntime-node|onnx-proto|execa|tar-stream|prom-client|@actions\/)/;

interface SourceFile {
  file: string;
  part: Part;
  /** Relative imports resolved to repository paths (`.js` → `.ts`), and package names. */
  modules: string[];
  packages: string[];
}

function partOf(file: string): Part | undefined {
  return PARTS.find((p) => file === p || file.startsWith(`${p}/`));
}

/** Every `import … from`, `export … from`, `import '…'` and `import('…')` specifier. */
function importSpecifiers(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map(
    (m) => m[1] ?? '',
  );
}

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await sources(rel)));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

let files: SourceFile[] = [];

beforeAll(async () => {
  const all = [...(await sources('src')), ...(await sources('runner-agent/src'))];
  files = await Promise.all(
    all.map(async (file) => {
      const specifiers = importSpecifiers(await readFile(path.join(root, file), 'utf8'));
      return {
        file,
        part: partOf(file) as Part,
        modules: specifiers
          .filter((s) => s.startsWith('.'))
          .map((s) => path.posix.join(path.posix.dirname(file), s).replace(/\.js$/, '.ts')),
        packages: specifiers.filter((s) => !s.startsWith('.') && !s.startsWith('node:')),
      };
    }),
  );
});

describe('docs/architecture.md import rules', () => {
  it('parses every kind of import', () => {
    const text =
      "import a from 'a';\nimport type { B } from '../b.js';\nexport { c } from './c.js';\nimport 'd';\nawait import('e');";
    expect(importSpecifiers(text)).toEqual(['a', '../b.js', './c.js', 'd', 'e']);
  });

  it('every source file belongs to a part of the table', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => f.part === undefined).map((f) => f.file)).toEqual([]);
  });

  it('each part imports only the parts the table allows', () => {
    const violations = files.flatMap((f) =>
      f.modules
        .map((m) => ({ m, to: partOf(m) }))
        .filter(({ to }) => to !== f.part && (to === undefined || !MAY_IMPORT[f.part].includes(to)))
        .map(({ m }) => `${f.file} (${f.part}) imports ${m}`),
    );
    expect(violations).toEqual([]);
  });

  it('core uses no native, process or network package', () => {
    const core = files.filter((f) => f.part === 'src/core');
    expect(
      core.flatMap((f) => f.packages.filter((p) => NOT_IN_CORE.test(p)).map((p) => `${f.file}: ${p}`)),
    ).toEqual([]);
  });

  it('core is pure outside src/core/io: no disk, process or network, and no runtime import of io', async () => {
    const io = /^node:(fs|fs\/promises|child_process|net|http|https|dgram|tls|os)$/;
    const offenders: string[] = [];
    for (const f of files.filter((x) => x.part === 'src/core' && !x.file.startsWith('src/core/io/'))) {
      const text = await readFile(path.join(root, f.file), 'utf8');
      // Runtime imports only: `import type` (and `export type`) vanish from the emitted JavaScript.
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+['"]([^'"]+)['"]/gms)) {
        const spec = m[1] ?? '';
        const target = path.posix.join(path.posix.dirname(f.file), spec);
        if (io.test(spec) || target.startsWith('src/core/io/')) offenders.push(`${f.file}: ${spec}`);
      }
      if (/\bfetch\(/.test(text)) offenders.push(`${f.file}: fetch()`);
    }
    expect(offenders).toEqual([]);
  });

  it('the Action never loads ONNX Runtime, not even through a module it imports', () => {
    const byFile = new Map(files.map((f) => [f.file, f]));
    const seen = new Set<string>();
    const queue = files.filter((f) => f.part === 'src/action').map((f) => f.file);
    const offenders: string[] = [];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = byFile.get(file);
      if (!source) continue;
      offenders.push(
        ...source.packages.filter((p) => p.startsWith('onnxruntime')).map((p) => `${file}: ${p}`),
      );
      queue.push(...source.modules);
    }
    expect(seen.size).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});
