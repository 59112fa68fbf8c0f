import { GateError, InputError, KilnError } from '../../../src/core/errors.js';
import { refusalLine } from './plan.js';
import { clearJournal, modelPaths, readPointer, removeTree, versionDir } from './pointer.js';
import { DEPLOY_REASONS, type DeployReason, type DeployRecord } from './record.js';
import { inModelSession, type RecordFields } from './session.js';
import { deploySteps, versionP99, type DeployContext, type DeployDeps, type DeployOptions } from './steps.js';

export { CRASH_POINTS, type CrashPoint, type DeployDeps, type DeployOptions } from './steps.js';

/** The record of the deploy, and the error to exit with when it was refused. */
export interface DeployOutcome {
  record: DeployRecord;
  error?: Error;
}

/**
 * `kiln-agent deploy MODEL@VERSION`: pull → verify → load → warmup → latency → switch, under the
 * model's lock, with a journal so a crash at any point leaves `current` on the old version and the
 * next deploy cleans up. `current` moves only after every check passed, in one rename; a refusal
 * leaves it (and `previous`) exactly as they were and removes the refused version's folder.
 */
export async function runDeploy(options: DeployOptions, deps: DeployDeps): Promise<DeployOutcome> {
  const paths = modelPaths(options.root, options.model);
  const label = `${options.model}@${options.version}`;
  const session = {
    kind: 'deploy' as const,
    label,
    command: `kiln-agent deploy ${label}`,
    print: deps.print,
    logRecovery: true,
    clock: deps.clock,
    now: deps.now,
    isAlive: deps.isAlive,
  };
  return inModelSession(paths, session, async ({ log, startedAt, record: stamp }) => {
    const previous = await readPointer(paths.current);
    const record = (fields: Partial<RecordFields>): DeployRecord =>
      stamp({
        version: options.version,
        outcome: 'unchanged',
        previous,
        serving: previous,
        engines: [],
        ...fields,
      });
    if (previous === options.version) {
      log.note(`already serving ${previous}; nothing to do`);
      return { record: record({}) };
    }
    const ctx: DeployContext = {
      options,
      deps,
      paths,
      log,
      label,
      previous,
      step: 'pull',
      loaded: [],
      startedAt,
    };
    try {
      await deploySteps(ctx);
      log.note(`done: serving ${options.version}${previous === null ? '' : ` (previous ${previous})`}`);
      return {
        record: record({
          outcome: 'switched',
          serving: options.version,
          engines: ctx.loaded.map((l) => l.report),
          ...versionP99(ctx.loaded),
        }),
      };
    } catch (error) {
      await releaseSessions(ctx);
      const refusal = await refuse(ctx, error);
      return {
        record: record({
          outcome: 'refused',
          reason: refusal.reason,
          message: refusal.error.message,
          engines: ctx.loaded.map((l) => l.report),
          ...versionP99(ctx.loaded),
        }),
        error: refusal.error,
      };
    } finally {
      await releaseSessions(ctx);
    }
  });
}

/** Releases the loaded sessions, once: a refusal releases them before deleting their files. */
async function releaseSessions(ctx: DeployContext): Promise<void> {
  if (ctx.released) return;
  ctx.released = true;
  for (const l of ctx.loaded) await l.session.release().catch(() => undefined);
}

/**
 * Turns a failed step into the refusal: logs it, removes the refused version's folder unless a
 * pointer names it, clears the journal, and words the error as one line that says what still serves.
 */
async function refuse(ctx: DeployContext, error: unknown): Promise<{ reason: DeployReason; error: Error }> {
  const stepReason = (DEPLOY_REASONS as readonly string[]).includes(ctx.step)
    ? (ctx.step as DeployReason)
    : 'error';
  const reason: DeployReason = ctx.reason ?? (error instanceof KilnError ? stepReason : 'error');
  const why = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  ctx.log.step(ctx.step, 'fail', why);
  const { paths, options } = ctx;
  const kept = new Set([await readPointer(paths.current), await readPointer(paths.previous)]);
  if (!kept.has(options.version)) await removeTree(paths, versionDir(paths, options.version));
  await clearJournal(paths);
  if (!(error instanceof KilnError))
    return { reason, error: error instanceof Error ? error : new Error(why) };
  // A latency line (`p99 +38% ...`) says what it is; other steps are named.
  const named =
    ctx.step === 'latency' ? why : ctx.step === 'warmup' ? `warmup ${why}` : `${ctx.step}: ${why}`;
  const line = refusalLine(ctx.label, named, ctx.previous);
  const Wrapped = error instanceof GateError ? GateError : InputError;
  return { reason, error: new Wrapped(line, { cause: error }) };
}
