import type { KilnConfig } from '../../core/io/config-load.js';
import type { TargetConfig } from '../../core/config-schema.js';
import { InputError } from '../../core/errors.js';
import { canRunHere } from '../../backends/registry.js';

/** `--target T`, or every target whose backend can run on this host; one clear line when none. */
export function pickTargets(config: KilnConfig, name: string | undefined, configArg: string): TargetConfig[] {
  const targets = name
    ? config.targets.filter((t) => t.name === name)
    : config.targets.filter((t) => canRunHere(t.backend));
  if (targets.length > 0) return targets;
  throw new InputError(
    name
      ? `--target ${name}: no such target in ${configArg} (targets: ${config.targets.map((t) => t.name).join(', ')})`
      : `${configArg}: none of the targets (${config.targets.map((t) => `${t.name}: ${t.backend}`).join(', ')}) can run on this host`,
  );
}
