import { execa } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addCommand, commands, main } from '../../runner-agent/src/cli.js';
import { fixtureRunner } from '../../src/backends/host/command-runner.js';
import { HOSTS } from './fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function run(argv: string[], probe?: () => ReturnType<typeof HOSTS.h100>) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    runner: fixtureRunner({}),
    env: {},
    ...(probe ? { probe } : {}),
  });
  return { code, stdout, stderr };
}

describe('kiln-agent (compiled, this machine)', () => {
  it('probe --json: no GPUs, nvidia-smi missing, CPU ISA found', async () => {
    const result = await execa('node', ['bin/kiln-agent.js', 'probe', '--json'], {
      cwd: root,
      reject: false,
    });
    expect(result.exitCode).toBe(0);
    const probe = JSON.parse(result.stdout);
    expect(probe.gpus).toEqual([]);
    expect(probe.tools.nvidiaSmi).toBe('missing');
    expect(probe.cpu.isa.length).toBeGreaterThan(0);
    expect(probe.os.platform).toBe(process.platform);
  });

  it('doctor exits 0 and prints one line per finding', async () => {
    const result = await execa('node', ['bin/kiln-agent.js', 'doctor'], { cwd: root, reject: false });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^ok\s+onnxruntime-cpu:/);
    expect(lines.filter((l) => /^missing\s+gpu-driver: nvidia-smi not found/.test(l))).toHaveLength(1);
  });

  it('bad arguments: one line on stderr, exit 2', async () => {
    const result = await execa('node', ['bin/kiln-agent.js', 'register', '--url'], {
      cwd: root,
      reject: false,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual(['kiln-agent: --url needs a value']);
  });
});

describe('main', () => {
  it('labels and register on a recorded H100 host', async () => {
    expect((await run(['labels'], HOSTS.h100)).stdout).toMatch(
      /^self-hosted\nlinux\nx64\ngpu\nsm90\nh100\ntrt10\n/,
    );
    const register = await run(
      ['register', '--url', 'https://github.com/acme/models', '--name=h100-01'],
      HOSTS.h100,
    );
    expect(register.code).toBe(0);
    expect(register.stdout).toMatch(/actions\/runner >= 2\.327\.1/);
    expect(register.stdout).toMatch(
      /\.\/config\.sh --url https:\/\/github\.com\/acme\/models --token <TOKEN> --labels gpu,sm90/,
    );
  });

  it.each([
    [['nope'], /unknown command 'nope'/],
    [[], /missing command/],
    [['probe', '--yaml'], /unknown argument '--yaml'/],
    [['register', '--url', 'https://github.com/a/b'], /--name is required/],
    [['register', '--url', 'http://x', '--name', 'n'], /--url must be the https/],
  ])('%j → exit 2', async (argv, message) => {
    const result = await run(argv, HOSTS.h100);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('doctor reads the runner version from RUNNER_VERSION-like --runner-dir', async () => {
    let stdout = '';
    const code = await main(['doctor', '--runner-dir', '/opt/actions-runner'], {
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      runner: fixtureRunner({ '/opt/actions-runner/config.sh --version': '2.326.0\n' }),
      env: {},
      probe: HOSTS.h100,
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/warn\s+actions-runner: actions runner 2\.326\.0 cannot run node24 actions/);
  });

  it('other modules register subcommands through addCommand', async () => {
    addCommand('echo-test', { usage: 'echo-test', run: async (argv, io) => (io.stdout(argv.join(' ')), 0) });
    expect((await run(['echo-test', 'a', 'b'])).stdout).toBe('a b');
    expect(() => addCommand('probe', commands['probe']!)).toThrow(/already registered/);
    delete commands['echo-test'];
  });
});
