import { execa } from 'execa';
import path from 'node:path';
import { diagnosticLine, interleaved, line } from './measure.js';

/**
 * `kiln --version` against a bare `node -e 0`, whole processes interleaved: what a user waits for
 * before any command starts. Commands' modules load only when they run, so this stays near 1.
 */
export async function cliStartupFigures(root: string): Promise<string[]> {
  const node = (args: string[]) => () => execa(process.execPath, args, { cwd: root });
  const kiln = path.join(root, 'bin', 'kiln.js');
  const version = await interleaved(node([kiln, '--version']), node(['-e', '0']), 6, 3);
  const help = await interleaved(node([kiln, 'build', '--help']), node(['-e', '0']), 6, 3);
  const ratio = version.a / version.b;
  return [
    line(
      'kiln --version vs bare node startup',
      ratio,
      '<= 2',
      ratio <= 2,
      `${version.a.toFixed(0)} ms vs ${version.b.toFixed(0)} ms`,
    ),
    diagnosticLine(
      'kiln build --help vs bare node startup',
      help.a / help.b,
      `${help.a.toFixed(0)} ms vs ${help.b.toFixed(0)} ms`,
    ),
  ];
}
