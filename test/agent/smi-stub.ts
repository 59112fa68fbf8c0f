import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/kiln-cli.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'nvidia-smi');

/** The (masked) UUID of the H100 in the recorded `--query-compute-apps` captures. */
export const RECORDED_H100 = 'GPU-00000000-0000-0000-0000-000000000000';

/**
 * A folder holding an `nvidia-smi` script, to put first on PATH. Process queries answer with the
 * recorded H100 captures (test/fixtures/nvidia-smi/README-compute-apps.md): the idle one, or with
 * `foreignPid` the load capture's gpu_burn row with its pid swapped for `foreignPid`, so the
 * neighbour is a real process this host has. Anything else exits 2, as an unknown query would.
 */
export async function smiStub(options: { foreignPid?: number } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-smi-'));
  const load = path.join(FIXTURES, 'compute-apps-h100-load.csv');
  const apps =
    options.foreignPid === undefined
      ? `cat '${path.join(FIXTURES, 'compute-apps-h100-idle.csv')}'`
      : `head -n 1 '${load}'; grep ', 11345, ' '${load}' | sed 's/, 11345, /, ${options.foreignPid}, /'`;
  const script = [
    '#!/bin/sh',
    'case "$1" in',
    `  --query-compute-apps=*) ${apps} ;;`,
    `  --query-gpu=uuid,utilization.gpu) printf 'uuid, utilization.gpu [%%]\\n${RECORDED_H100}, 97\\n' ;;`,
    '  *) echo "stub nvidia-smi: no recording for: $*" >&2; exit 2 ;;',
    'esac',
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'nvidia-smi'), script);
  await chmod(path.join(dir, 'nvidia-smi'), 0o755);
  return dir;
}
