import { execa } from 'execa';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_SPECS } from '../../runner-agent/src/agent-specs.js';
import type { CommandHelp } from '../../src/cli/command-spec.js';
import { COMMANDS } from '../../src/cli/specs/index.js';
import { ROOT } from '../helpers/kiln-cli.js';

const VERSION = (JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

/** Runs a compiled bin from a scratch folder, as a user would; optionally records every module loaded. */
async function run(bin: 'kiln' | 'kiln-agent', args: string[], recordImports = false) {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'kiln-help-'));
  const log = path.join(cwd, 'imports.log');
  const result = await execa(
    'node',
    [
      ...(recordImports ? ['--import', path.join(ROOT, 'test', 'helpers', 'record-imports.mjs')] : []),
      path.join(ROOT, 'bin', `${bin}.js`),
      ...args,
    ],
    { cwd, reject: false, env: { KILN_RECORD_IMPORTS: log } },
  );
  const imports = recordImports ? (await readFile(log, 'utf8')).trim().split('\n') : [];
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, imports, cwd };
}

/** Every flag of a spec must appear in its help, with its short form and its default. */
function expectFullHelp(help: string, spec: CommandHelp, bin: string): void {
  for (const [name, option] of Object.entries(spec.options)) {
    expect(help, `--${name}`).toContain(option.short ? `-${option.short}, --${name}` : `--${name}`);
    if (option.default !== undefined) expect(help, `--${name} default`).toContain(`"${option.default}"`);
  }
  expect(help).toMatch(/-h, --help/);
  expect(help).toContain(`Examples:\n  $ ${bin} ${spec.name}`);
}

const HEAVY =
  /onnxruntime-node|onnx-proto|@actions|\/zod\/|\/yaml\/|\/execa\/|\/cli\/commands\/|deploy-|serve/;

describe('kiln help', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    'kiln %s --help, -h and kiln help <it>: every flag, its default and an example; exit 0',
    async (name, spec) => {
      const long = await run('kiln', [name, '--help']);
      expect(long.exitCode).toBe(0);
      expect(long.stderr).toBe('');
      expect(long.stdout).toMatch(new RegExp(`^Usage: kiln ${name} `));
      expectFullHelp(long.stdout, spec, 'kiln');
      expect((await run('kiln', [name, '-h'])).stdout).toBe(long.stdout);
      const viaHelp = await run('kiln', ['help', name]);
      expect(viaHelp.exitCode).toBe(0);
      expect(viaHelp.stdout).toBe(long.stdout);
    },
  );

  it('kiln --help and kiln help list every command; bare kiln shows the same help but exits 2', async () => {
    const help = await run('kiln', ['--help']);
    expect(help.exitCode).toBe(0);
    for (const spec of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${spec.name} `, 'm'));
    expect((await run('kiln', ['help'])).stdout).toBe(help.stdout);
    const bare = await run('kiln', []);
    expect(bare.exitCode).toBe(2);
    expect(bare.stdout).toBe(help.stdout);
  });

  it('--version on the program and on every command but publish (where it names the release)', async () => {
    for (const args of [
      ['--version'],
      ...COMMANDS.filter((c) => c.name !== 'publish').map((c) => [c.name, '--version']),
    ]) {
      const result = await run('kiln', args);
      expect(result.exitCode, args.join(' ')).toBe(0);
      expect(result.stdout, args.join(' ')).toBe(VERSION);
    }
    const publish = await run('kiln', ['publish', '--version']);
    expect(publish.exitCode).toBe(2);
    expect(publish.stderr).toBe("kiln publish: option '--version <V>' needs a value");
  });

  it.each([
    [['biuld'], "kiln: unknown command 'biuld' (did you mean 'build'?)"],
    [['help', 'biuld'], "kiln: unknown command 'biuld' (did you mean 'build'?)"],
    [['build', '--modle', 'm'], "kiln build: unknown option '--modle' (did you mean '--model'?)"],
    [['plan', '--bsae', 'main'], "kiln plan: unknown option '--bsae' (did you mean '--base'?)"],
    [['build', '--fast'], "kiln build: unknown option '--fast'"],
    [['build', '--config'], "kiln build: option '-c, --config <FILE>' needs a value"],
    [['build', 'extra'], "kiln build: unexpected argument 'extra' (see 'kiln help build')"],
  ])('%j: one line on stderr, exit 2', async (args, line) => {
    const result = await run('kiln', args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(line);
    expect(result.stdout).toBe('');
  });

  it('a flag where a value belongs is refused, not taken as a file name', async () => {
    const result = await run('kiln', ['keys', '--json', '--verbose']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe("kiln keys: option '--json <FILE>' needs a value");
    expect(await readdir(result.cwd)).toEqual([]);
  });

  it("a lone '-' is a value (--json - is stdout), not a flag", async () => {
    const result = await run('kiln', ['keys', '--config', 'missing.yaml', '--json', '-']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^kiln: missing\.yaml: cannot read config/);
  });
});

describe('kiln-agent help', () => {
  it.each(Object.values(AGENT_SPECS).map((s) => [s.name, s] as const))(
    'kiln-agent %s --help, help <it> and --version: every flag and an example; exit 0',
    async (name, spec) => {
      const long = await run('kiln-agent', [name, '--help']);
      expect(long.exitCode).toBe(0);
      expectFullHelp(long.stdout, spec, 'kiln-agent');
      expect((await run('kiln-agent', ['help', name])).stdout).toBe(long.stdout);
      const version = await run('kiln-agent', [name, '--version']);
      expect([version.exitCode, version.stdout]).toEqual([0, VERSION]);
    },
  );

  it('lists every command, suggests for a misspelling, and prints its version', async () => {
    const help = await run('kiln-agent', ['--help']);
    expect(help.exitCode).toBe(0);
    for (const name of Object.keys(AGENT_SPECS)) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const typo = await run('kiln-agent', ['deplyo', 'det@1']);
    expect([typo.exitCode, typo.stderr]).toEqual([
      2,
      "kiln-agent: unknown command 'deplyo' (did you mean 'deploy'?)",
    ]);
    const flag = await run('kiln-agent', ['deploy', 'det@1', '--releses', 'r']);
    expect([flag.exitCode, flag.stderr]).toEqual([
      2,
      "kiln-agent: unknown argument '--releses' (did you mean '--releases'?)",
    ]);
    expect((await run('kiln-agent', ['--version'])).stdout).toBe(VERSION);
  });
});

describe('lazy loading: help and --version load no command implementation', () => {
  it.each([
    ['kiln', ['--version']],
    ['kiln', ['--help']],
    ['kiln', ['build', '--help']],
    ['kiln-agent', ['--version']],
    ['kiln-agent', ['deploy', '--help']],
  ] as const)('%s %j', async (bin, args) => {
    const result = await run(bin, [...args], true);
    expect(result.exitCode).toBe(0);
    expect(result.imports.some((url) => url.includes('commander'))).toBe(true);
    expect(result.imports.filter((url) => HEAVY.test(url))).toEqual([]);
  });

  it('the recorder does see a command once it runs', async () => {
    const result = await run('kiln', ['report', 'missing.json'], true);
    expect(result.exitCode).toBe(2);
    expect(result.imports.some((url) => url.endsWith('/cli/commands/report.js'))).toBe(true);
  });
});
