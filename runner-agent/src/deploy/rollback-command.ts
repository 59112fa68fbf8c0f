import { firstLine, InputError, KilnError } from '../../../src/core/errors.js';
import { readRelease } from '../../../src/store/release/release-record.js';
import { parseAgentArgs } from '../agent-args.js';
import { rollbackOptions } from '../agent-specs.js';
import type { AgentCommand } from '../cli.js';
import { hostHardware, realEngineHost } from './checks.js';
import { defaultEventsDir, defaultServingRoot, writeDeployEvents } from './events.js';
import { selectEngines, slotName } from './plan.js';
import { modelPaths, readPointer, setPointer, versionDir } from './pointer.js';
import { inModelSession } from './session.js';

/**
 * `kiln-agent rollback MODEL`: points `current` back at `previous` after re-verifying it (every file
 * hash, and that its engines were built for this host), and `previous` at the version rolled back
 * from, so a second rollback undoes the first (like `cd -`). Takes the model's deploy lock.
 */
export function createRollbackCommand(
  deps: { hostFingerprint?: (backend: string) => Promise<Record<string, unknown>> } = {},
): AgentCommand {
  return {
    usage: 'rollback MODEL [--root DIR] [--events DIR] [--json]   serve the previous version again',
    run: async (argv, io) => {
      const { values, positionals } = parseAgentArgs('rollback', argv, rollbackOptions, true);
      if (positionals.length !== 1) throw new InputError('kiln-agent rollback: give exactly one MODEL');
      const root = values.root ?? defaultServingRoot(io.env);
      const paths = modelPaths(root, positionals[0]!);
      const print = (line: string) => (values.json ? io.stderr : io.stdout)(`${line}\n`);
      const session = {
        kind: 'rollback' as const,
        label: paths.model,
        command: `kiln-agent rollback ${paths.model}`,
        print,
        logRecovery: true,
      };
      const record = await inModelSession(paths, session, async ({ log, record: stamp }) => {
        const current = await readPointer(paths.current);
        const target = await readPointer(paths.previous);
        if (target === null || target === current) {
          throw new InputError(
            `rollback ${paths.model}: no previous version to go back to; ${current === null ? 'nothing is serving' : `still serving ${current}`}`,
          );
        }
        log.begin();
        try {
          const release = await readRelease(versionDir(paths, target));
          const selected = selectEngines(
            release,
            await hostHardware(release, realEngineHost(deps.hostFingerprint)),
          );
          log.step(
            'verify',
            'ok',
            `versions/${target}: every file matches release.json; ${selected.map(slotName).join(', ')} built for this host`,
          );
        } catch (error) {
          if (!(error instanceof KilnError)) throw error;
          log.step('verify', 'fail', firstLine(error));
          throw new InputError(
            `rollback ${paths.model} refused: previous version ${target}: ${firstLine(error)}; ${current === null ? 'nothing is serving' : `still serving ${current}`}`,
            { cause: error },
          );
        }
        if (current !== null) await setPointer(paths.previous, current);
        await setPointer(paths.current, target);
        log.step(
          'rollback',
          'ok',
          `current → versions/${target}${current === null ? '' : `, previous → versions/${current}`}`,
        );
        return stamp({
          version: target,
          outcome: 'switched',
          reason: 'manual',
          previous: current,
          serving: target,
          engines: [],
        });
      });
      try {
        await writeDeployEvents(values.events ?? defaultEventsDir(io.env, root), record);
      } catch (error) {
        io.stderr(`kiln-agent: warning: ${firstLine(error)}\n`);
      }
      if (values.json) io.stdout(`${JSON.stringify(record, null, 2)}\n`);
      return 0;
    },
  };
}

/** The registered command. */
export const rollbackCommand: AgentCommand = createRollbackCommand();
