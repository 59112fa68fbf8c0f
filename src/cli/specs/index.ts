import type { CommandSpec, OptionTable } from '../command-spec.js';
import { benchSpec } from './bench.js';
import { buildSpec } from './build.js';
import { driftSpec } from './drift.js';
import { keysSpec } from './keys.js';
import { planSpec } from './plan.js';
import { profilesSpec } from './profiles.js';
import { publishSpec } from './publish.js';
import { reportSpec } from './report.js';
import { routeSpec } from './route.js';
import { skewSpec } from './skew.js';
import { tritonSpec } from './triton.js';
import { verifySpec } from './verify.js';

/** Every `kiln` command, in the order help lists them. Loading this loads no implementation. */
export const COMMANDS: ReadonlyArray<CommandSpec<OptionTable>> = [
  buildSpec,
  planSpec,
  reportSpec,
  benchSpec,
  keysSpec,
  routeSpec,
  profilesSpec,
  skewSpec,
  driftSpec,
  publishSpec,
  verifySpec,
  tritonSpec,
] as ReadonlyArray<CommandSpec<OptionTable>>;
