import { execa } from 'execa';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Files of one commit: path → text, or null to delete the file. */
export type CommitFiles = Record<string, string | null>;

/**
 * A real git repository in `dir` with one commit per entry (on branch main, then `change` for
 * every commit after the first); returns the commit shas in order. For tests that plan or read
 * configs at a merge base through real git.
 */
export async function gitRepo(dir: string, commits: CommitFiles[]): Promise<string[]> {
  const git = async (...args: string[]) => (await execa('git', args, { cwd: dir })).stdout.trim();
  await mkdir(dir, { recursive: true });
  await git('init', '--quiet', '--initial-branch=main');
  await git('config', 'user.email', 'kiln@example.com');
  await git('config', 'user.name', 'kiln test');
  await git('config', 'commit.gpgsign', 'false');
  const shas: string[] = [];
  for (const [i, files] of commits.entries()) {
    if (i === 1) await git('checkout', '--quiet', '-b', 'change');
    for (const [file, text] of Object.entries(files)) {
      const full = path.join(dir, file);
      if (text === null) await rm(full, { force: true });
      else {
        await mkdir(path.dirname(full), { recursive: true });
        await writeFile(full, text);
      }
    }
    await git('add', '-A');
    await git('commit', '--quiet', '--allow-empty', '-m', `commit ${i}`);
    shas.push(await git('rev-parse', 'HEAD'));
  }
  return shas;
}

/** A kiln.yaml with models `det` and `rec` on target `cpu`, and `gates` as given (YAML flow text). */
export function twoModelConfig(gates = '{ golden: fail }', targets = ['cpu']): string {
  return `version: 1
models:
  - name: det
    path: models/det.onnx
    profiles: [{ name: s384, shapes: { x: [1, 3, 384, 384] } }]
  - name: rec
    path: models/rec.onnx
    profiles: [{ name: w320, shapes: { x: [1, 3, 48, 320] } }]
targets:
${targets.map((t) => `  - { name: ${t}, runs-on: [self-hosted, ${t}], backend: onnxruntime-cpu }`).join('\n')}
gates: ${gates}
`;
}
