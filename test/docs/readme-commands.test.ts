import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The README's quick start and test commands are what CI runs (`.ci/run`), so a README that stops
 * working fails CI instead of a new user.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The commands of every ```sh block under `## heading`, comments and blank lines dropped. */
function shellCommands(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) return [];
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    (m[1] ?? '')
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}

describe("README's quick start", () => {
  it('finds the commands of a section', () => {
    const text =
      '# t\n## Quick start\n```sh\nnpm ci   # install\n\nnpx kiln build\n```\n## Next\n```sh\nnope\n```\n';
    expect(shellCommands(text, 'Quick start')).toEqual(['npm ci', 'npx kiln build']);
  });

  it('is what CI runs, in the same order, including npm test', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const ci = (await readFile(path.join(root, '.ci', 'run'), 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    const commands = shellCommands(readme, 'Quick start');
    expect(commands).toContain('npx kiln build --config examples/ocr/kiln.yaml');
    expect(commands).toContain('npm test');
    let from = 0;
    for (const command of commands.filter((c) => c !== 'npm run bench')) {
      const at = ci.findIndex((line, i) => i >= from && (line === command || line.startsWith(`${command} `)));
      expect(at, `${command} is not run by .ci/run after line ${from}`).toBeGreaterThanOrEqual(0);
      from = at + 1;
    }
  });
});

describe("README's workflow", () => {
  it('has the jobs, commands and report condition of examples/workflows/pull-request.yml', async () => {
    const { parse } = await import('yaml');
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'README.md has a yaml workflow block').toBeDefined();
    type Job = { if?: string; steps?: { uses?: string; with?: { command?: string } }[] };
    const shown = parse(block!) as { jobs: Record<string, Job> };
    const example = parse(
      await readFile(path.join(root, 'examples', 'workflows', 'pull-request.yml'), 'utf8'),
    ) as { jobs: Record<string, Job> };
    expect(Object.keys(shown.jobs)).toEqual(Object.keys(example.jobs));
    const commands = (jobs: Record<string, Job>) =>
      Object.values(jobs).map((j) => (j.steps ?? []).map((s) => s.with?.command ?? s.uses ?? ''));
    expect(commands(shown.jobs)).toEqual(commands(example.jobs));
    // A report under always() would also run on a cancelled workflow; a failed build must still report.
    expect(shown.jobs.report?.if).toBe(example.jobs.report?.if);
  });
});
