import { execa } from 'execa';
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/kiln-cli.js';
import { buildReleases } from '../../helpers/release-from-store.js';

const agent = path.join(ROOT, 'bin', 'kiln-agent.js');
const FAST_LATENCY = ['--min-samples', '40', '--max-samples', '60', '--budget-ms', '500'];

let releases: string;
let workdir: string;

/** Latency is not under test here: a gate that only a 3× slowdown trips keeps a loaded runner from flaking. */
function deploy(root: string, target: string, env: Record<string, string> = {}) {
  return execa(
    'node',
    [
      agent,
      'deploy',
      target,
      '--releases',
      releases,
      '--root',
      root,
      '--max-regression-pct',
      '50',
      ...FAST_LATENCY,
    ],
    { reject: false, env },
  );
}

beforeAll(async () => {
  const built = await buildReleases('det', { '1': 'fast', '3': 'fastToo' });
  releases = built.releases;
  workdir = built.dir;
});

describe('a deploy killed part-way (KILN_AGENT_CRASH_AFTER, SIGKILL: no cleanup runs)', () => {
  it.each(['pull', 'warmup', 'rename'])(
    'after %s: current still names the old version, and the next deploy recovers and switches',
    async (point) => {
      const root = path.join(workdir, `serving-${point}`);
      expect((await deploy(root, 'det@1')).exitCode).toBe(0);

      const crashed = await deploy(root, 'det@3', { KILN_AGENT_CRASH_AFTER: point });
      expect(crashed.signal).toBe('SIGKILL');
      const model = path.join(root, 'det');
      expect(await readlink(path.join(model, 'current'))).toBe('versions/1');
      // What the dead process left: its journal (and, just before the rename, its new symlink).
      const journal = JSON.parse(await readFile(path.join(model, 'deploy.json'), 'utf8')) as {
        step: string;
        pid: number;
      };
      expect(journal.step).toBe(point === 'rename' ? 'switch' : point);
      const left = await readdir(model);
      expect(left.some((n) => n.startsWith('current.tmp-'))).toBe(point === 'rename');

      const next = await deploy(root, 'det@3');
      expect(next.exitCode).toBe(0);
      expect(next.stdout).toMatch(
        new RegExp(
          `^deploy det@3: recover: a deploy of 3 \\(pid ${journal.pid}, started [^)]+\\) stopped during ${journal.step}; removed .*; current still 1\\n`,
        ),
      );
      expect(await readlink(path.join(model, 'current'))).toBe('versions/3');
      expect(await readlink(path.join(model, 'previous'))).toBe('versions/1');
      expect((await readdir(model)).sort()).toEqual(['current', 'previous', 'versions']);
      expect(await readdir(path.join(root, '.tmp'))).toEqual([]);
    },
  );

  it('deploy --recover cleans up on its own and leaves current alone', async () => {
    const root = path.join(workdir, 'serving-recover');
    expect((await deploy(root, 'det@1')).exitCode).toBe(0);
    const crashed = await deploy(root, 'det@3', { KILN_AGENT_CRASH_AFTER: 'verify' });
    expect(crashed.signal).toBe('SIGKILL');

    const recover = await execa('node', [agent, 'deploy', '--recover', '--root', root], { reject: false });
    expect(recover.exitCode).toBe(0);
    expect(recover.stdout).toMatch(
      /^deploy det: recover: a deploy of 3 .* stopped during verify; removed versions\/3; current still 1$/m,
    );
    expect(await readdir(path.join(root, 'det', 'versions'))).toEqual(['1']);
    expect(await readlink(path.join(root, 'det', 'current'))).toBe('versions/1');
    const again = await execa('node', [agent, 'deploy', '--recover', 'det', '--root', root], {
      reject: false,
    });
    expect(again.stdout).toBe('deploy det: nothing to recover');
  });

  it('refuses an unknown crash point rather than silently not crashing', async () => {
    const run = await deploy(path.join(workdir, 'serving-bad-hook'), 'det@1', {
      KILN_AGENT_CRASH_AFTER: 'lunch',
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(
      'kiln-agent: KILN_AGENT_CRASH_AFTER=lunch: expected one of pull, verify, load, warmup, latency, rename',
    );
  });
});
