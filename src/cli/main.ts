import { setOrtVerbose } from '../backends/ort-log.js';
import { firstLine, KilnError } from '../core/errors.js';
import { redact, redactor } from '../core/redact.js';
import { KILN_VERSION } from '../core/version.js';
import { buildCommand, buildUsage } from './commands/build.js';
import { planCommand, planUsage } from './commands/plan.js';
import { reportCommand, reportUsage } from './commands/report.js';
import { benchCommand, benchUsage } from './commands/bench.js';
import { keysCommand, keysUsage } from './commands/keys.js';
import { routeCommand, routeUsage } from './commands/route.js';
import { profilesCommand, profilesUsage } from './commands/profiles.js';
import { skewCommand, skewUsage } from './commands/skew.js';
import { driftCommand, driftUsage } from './commands/drift.js';
import { verifyCommand, verifyUsage } from './commands/verify.js';
import { publishCommand, publishUsage } from './commands/publish.js';
import { tritonCommand, tritonUsage } from './commands/triton.js';

const commands: Record<string, { run: (argv: string[]) => Promise<number>; usage: string }> = {
  build: { run: buildCommand, usage: buildUsage },
  plan: { run: planCommand, usage: planUsage },
  report: { run: reportCommand, usage: reportUsage },
  bench: { run: benchCommand, usage: benchUsage },
  keys: { run: keysCommand, usage: keysUsage },
  route: { run: routeCommand, usage: routeUsage },
  profiles: { run: profilesCommand, usage: profilesUsage },
  skew: { run: skewCommand, usage: skewUsage },
  drift: { run: driftCommand, usage: driftUsage },
  publish: { run: publishCommand, usage: publishUsage },
  verify: { run: verifyCommand, usage: verifyUsage },
  triton: { run: tritonCommand, usage: tritonUsage },
};

const help = `kiln ${KILN_VERSION}: compile ONNX models into verified, cached, per-hardware engines

${Object.values(commands)
  .map((c) => `  ${c.usage}`)
  .join('\n')}

Exit codes: 0 built and passed, 1 a gate failed, 2 invalid input or unusable environment.
Add --verbose for the cause behind an error.`;

/**
 * Runs the CLI and returns its exit code. Errors become one line on stderr (the cause chain follows
 * only with --verbose), so CI logs and annotations show the fault first.
 */
export async function main(
  argv: string[],
  stderr: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${help}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${KILN_VERSION}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    stderr(`kiln: unknown command '${name}' (commands: ${Object.keys(commands).join(', ')})\n`);
    return 2;
  }
  redactor.addFromEnv(process.env);
  setOrtVerbose(rest.includes('--verbose') || rest.includes('-v'));
  try {
    return await command.run(rest);
  } catch (error) {
    const verbose = rest.includes('--verbose') || rest.includes('-v');
    const known = error instanceof KilnError;
    stderr(redact(`kiln: ${known ? '' : 'internal error: '}${firstLine(error)}\n`));
    if (verbose || !known) stderr(`${redact(describeCauses(error))}\n`);
    return known ? error.exitCode : 2;
  }
}

function describeCauses(error: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
    lines.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    if (lines.length > 5) break;
  }
  return lines.join('\ncaused by: ');
}
