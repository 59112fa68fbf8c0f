import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTrustedSettings } from '../../src/action/trusted-settings.js';
import { gitRepo, twoModelConfig } from '../helpers/git-repo.js';

/** A real repository: kiln.yaml at the base, the pull request's version of it at head. */
async function pullRequest(headGates: string) {
  const repo = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-trusted-')), 'repo');
  const [base, head] = await gitRepo(repo, [
    { 'kiln.yaml': twoModelConfig(), 'models/det.onnx': 'det', 'models/rec.onnx': 'rec' },
    { 'kiln.yaml': twoModelConfig(headGates) },
  ]);
  return { repo, base: base!, head: head! };
}

describe('the pull request side of the trusted settings', () => {
  it("lists a pull request's change to a judging setting", async () => {
    const pr = await pullRequest('{ golden: warn }');
    const { notices } = await readTrustedSettings(pr.repo, 'kiln.yaml', pr.base, pr.head);
    expect(notices.join('\n')).toContain('This pull request changes a judging setting');
  });

  it('a head commit missing from the clone is said, not silently taken as "no changes"', async () => {
    const pr = await pullRequest('{ golden: warn }');
    const { settings, notices } = await readTrustedSettings(pr.repo, 'kiln.yaml', pr.base, 'e'.repeat(40));
    expect(settings.gates.golden).toBe('fail');
    expect(notices.join('\n')).toMatch(
      /Whether this pull request changes judging settings is not shown: its config could not be read \(--base e{40}: not a git revision in .*\)\./,
    );
  });
});
