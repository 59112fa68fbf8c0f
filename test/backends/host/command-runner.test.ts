import { describe, expect, it } from 'vitest';
import { execaRunner, fixtureRunner } from '../../../src/backends/host/command-runner.js';

/** A real child process: node running `code`. */
const node = (code: string) => [process.execPath, ['-e', code]] as const;

describe('execaRunner (real processes)', () => {
  it('reports exit codes and output, and a missing executable as missing', async () => {
    const runner = execaRunner();
    const ok = await runner.run(
      ...node('process.stdout.write("hi"); process.stderr.write("e"); process.exit(3)'),
    );
    expect(ok).toEqual({ exitCode: 3, stdout: 'hi', stderr: 'e' });
    expect(await runner.run('kiln-no-such-tool-xyz', [])).toEqual({ missing: true });
  });

  it('kills a hung tool at the deadline: exit 124, timedOut, output so far kept', async () => {
    // sh starts in milliseconds even on a loaded machine, so "started" is out well before the deadline.
    const hang = ['/bin/sh', ['-c', 'echo started; exec sleep 60']] as const;
    const result = await execaRunner({ timeoutMs: 60_000 }).run(...hang, { timeoutMs: 1500 });
    expect(result).toMatchObject({ exitCode: 124, timedOut: true, stdout: 'started' });
    expect(result).toHaveProperty('stderr', expect.stringMatching(/timed out after 1500 ms$/));
  });

  it('stops a tool that prints past the output bound and fails, never passing cut output as success', async () => {
    const flood = node('process.stdout.write("x".repeat(1 << 20)); process.exit(0)');
    const result = await execaRunner({ maxOutputBytes: 4096 }).run(...flood);
    expect(result).toMatchObject({ exitCode: 1, outputCut: true });
    if ('missing' in result) throw new Error('node is missing');
    expect(result.stdout.length).toBeLessThanOrEqual(4096);
    expect(result.stderr).toMatch(/printed more than 4096 bytes/);
  });

  it('runs in the folder asked for', async () => {
    const result = await execaRunner().run(...node('process.stdout.write(process.cwd())'), { cwd: '/' });
    expect(result).toMatchObject({ exitCode: 0, stdout: '/' });
  });
});

describe('fixtureRunner', () => {
  it('replays by command line, then by file name; unknown tools read as missing', async () => {
    const runner = fixtureRunner({
      'nvidia-smi -L': 'GPU 0',
      ldd: { exitCode: 1, stderr: 'not a dynamic executable' },
    });
    expect(await runner.run('nvidia-smi', ['-L'])).toEqual({ exitCode: 0, stdout: 'GPU 0', stderr: '' });
    expect(await runner.run('ldd', ['/x'])).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'not a dynamic executable',
    });
    expect(await runner.run('trtexec', [])).toEqual({ missing: true });
    expect(runner.calls).toEqual(['nvidia-smi -L', 'ldd /x', 'trtexec']);
  });
});
