import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { headingAnchors, isExternal, markdownLinks } from '../helpers/markdown-links.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Generated or installed trees: not ours to check (dist/ is rebundled from src/, which is checked). */
const SKIP_DIRS = new Set([
  'node_modules',
  '.git',
  'build',
  'dist',
  'coverage',
  'scratch',
  '.kiln',
  'generated',
]);
const TEXT_FILE = /\.(ts|js|mjs|cjs|json|md|ya?ml|service|sh)$|^run$/;

async function walk(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) files.push(...(await walk(full, keep)));
    } else if (entry.isFile() && keep(entry.name)) {
      files.push(full);
    }
  }
  return files;
}

const rel = (file: string) => path.relative(root, file);
const insideRepo = (file: string) => {
  const relative = path.relative(root, file);
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
};

/** README.md and every Markdown file under docs/. */
async function docFiles(): Promise<string[]> {
  const docs = existsSync(path.join(root, 'docs'))
    ? await walk(path.join(root, 'docs'), (n) => n.endsWith('.md'))
    : [];
  return [path.join(root, 'README.md'), ...docs];
}

/** Every problem with one relative link, or nothing. */
async function linkProblem(from: string, target: string): Promise<string | undefined> {
  const [filePart = '', anchor] = target.split('#', 2);
  const resolved = filePart === '' ? from : path.resolve(path.dirname(from), decodeURIComponent(filePart));
  if (!insideRepo(resolved)) return 'points outside the repository';
  const info = await stat(resolved).catch(() => null);
  if (!info) return 'no such file in the repository';
  if (anchor && info.isFile() && resolved.endsWith('.md')) {
    if (!headingAnchors(await readFile(resolved, 'utf8')).has(anchor)) return `no heading #${anchor}`;
  }
  return undefined;
}

describe('markdown link extraction', () => {
  it('finds inline and reference links, not code examples', () => {
    const text =
      'See [a](guide/a.md#x) and ![i](img.png "t").\n`[no](code.md)`\n```\n[no](fence.md)\n```\n[r]: ../up.md\n';
    expect(markdownLinks(text)).toEqual([
      { line: 1, target: 'guide/a.md#x' },
      { line: 1, target: 'img.png' },
      { line: 6, target: '../up.md' },
    ]);
  });

  it("makes GitHub's heading anchors", () => {
    const anchors = headingAnchors(
      '# kiln\n## Config: `kiln.yaml`\n## Exit codes\n## Exit codes\n```\n# not a heading\n```\n',
    );
    expect([...anchors]).toEqual(['kiln', 'config-kilnyaml', 'exit-codes', 'exit-codes-1']);
  });
});

describe('README and docs/', () => {
  it('every relative link resolves to a file (and heading) inside the repository', async () => {
    const broken: string[] = [];
    for (const file of await docFiles()) {
      for (const link of markdownLinks(await readFile(file, 'utf8'))) {
        if (isExternal(link.target)) continue;
        const problem = await linkProblem(file, link.target);
        if (problem) broken.push(`${rel(file)}:${link.line}: ${link.target}: ${problem}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('README.md stays a front door (under 10 KB)', async () => {
    const { size } = await stat(path.join(root, 'README.md'));
    expect(size).toBeLessThan(10 * 1024);
  });

  it('the docs index links every page under docs/', async () => {
    const pages = (await docFiles()).filter(
      (f) => rel(f).startsWith('docs') && path.basename(f) !== 'README.md',
    );
    const index = markdownLinks(await readFile(path.join(root, 'docs', 'README.md'), 'utf8')).map((l) =>
      path.resolve(root, 'docs', l.target.split('#')[0] ?? ''),
    );
    expect(pages.filter((p) => !index.includes(p)).map(rel)).toEqual([]);
  });
});

describe('nothing the project ships or cites points outside it', () => {
  // Built from parts so that this file does not match itself.
  const outside = new RegExp(['\\.\\./shared', 'shared[/]design', '\\bdesign\\.md'].join('|'));
  const docReference = /\bdocs\/[A-Za-z0-9_-]+\.md\b/g;

  it('no file refers to the old out-of-repository design document', async () => {
    const offenders: string[] = [];
    for (const file of await walk(root, (n) => TEXT_FILE.test(n) && n !== 'package-lock.json')) {
      (await readFile(file, 'utf8')).split('\n').forEach((line, i) => {
        if (outside.test(line)) offenders.push(`${rel(file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('every docs/*.md that code, tests and scripts cite exists', async () => {
    const missing: string[] = [];
    for (const dir of ['src', 'runner-agent', 'bench', 'scripts', 'test', 'bin', 'examples']) {
      const full = path.join(root, dir);
      if (!existsSync(full)) continue;
      for (const file of await walk(full, (n) => TEXT_FILE.test(n))) {
        for (const match of (await readFile(file, 'utf8')).matchAll(docReference)) {
          if (!existsSync(path.join(root, match[0]))) missing.push(`${rel(file)}: ${match[0]}`);
        }
      }
    }
    expect([...new Set(missing)]).toEqual([]);
  });
});
