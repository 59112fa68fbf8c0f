import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kilnCommand } from '../../src/action/kiln-command.js';
import { readInputs } from '../../src/action/inputs.js';
import { KILN_PACKAGE, KILN_VERSION } from '../../src/core/io/version.js';
import { ROOT } from '../helpers/kiln-cli.js';

describe('the kiln command the Action runs for build and publish', () => {
  it("defaults to kiln-ml at the Action's own version through npm exec", () => {
    expect(kilnCommand('', '1.4.2')).toEqual([
      'npm',
      'exec',
      '--yes',
      '--package=kiln-ml@1.4.2',
      '--',
      'kiln',
    ]);
    expect(kilnCommand('  ', '2.0.0-rc.1')).toContain('--package=kiln-ml@2.0.0-rc.1');
  });

  it('the version is the one in package.json, under the package name kiln-ml', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    expect(KILN_PACKAGE).toBe(pkg.name);
    expect(KILN_VERSION).toBe(pkg.version);
    expect(readInputs((n) => ({ command: 'build', target: 'cpu' })[n] ?? '').kiln).toContain(
      `--package=kiln-ml@${pkg.version}`,
    );
  });

  it('an input names another command, split on spaces', () => {
    expect(kilnCommand('kiln', '1.0.0')).toEqual(['kiln']);
    expect(kilnCommand(' node  /opt/kiln/bin/kiln.js ', '1.0.0')).toEqual(['node', '/opt/kiln/bin/kiln.js']);
  });

  it('an unknown own version is refused in one line rather than guessed', () => {
    expect(() => kilnCommand('', '0.0.0-unknown')).toThrow(
      "input 'kiln': found '', and the Action's own version is unknown ('0.0.0-unknown')",
    );
    expect(() => kilnCommand('', 'latest')).toThrow("input 'kiln'");
  });

  it('plan and report never need the CLI', () => {
    expect(readInputs((n) => ({ command: 'plan' })[n] ?? '').kiln).toEqual([]);
  });
});
