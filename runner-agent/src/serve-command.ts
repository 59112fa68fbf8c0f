import { InputError } from '../../src/core/errors.js';
import { KILN_VERSION } from '../../src/core/io/version.js';
import { parseAgentArgs } from './agent-args.js';
import { serveOptions } from './agent-specs.js';
import type { AgentCommand } from './cli.js';
import { defaultEventsDir, watchDeployEvents } from './deploy/events.js';
import { AgentMetrics } from './metrics.js';
import { startServer } from './serve.js';
import { defaultResultsDir, watchResults } from './results-watcher.js';

/**
 * `kiln-agent serve`: /healthz and Prometheus /metrics on loopback by default, fed by the
 * `kiln build --json` files runner jobs drop into the results spool, and by the records `kiln-agent
 * deploy`/`rollback` drop into the deploy events spool. Runs until SIGTERM/SIGINT.
 */
export const serveCommand: AgentCommand = {
  usage: 'serve [--host H] [--port N] [--results DIR] [--events DIR] [--device NAME]   /healthz + /metrics',
  run: async (argv, io) => {
    const { values: flags } = parseAgentArgs('serve', argv, serveOptions);
    const env = io.env;
    const values = {
      host: flags.host ?? (env.KILN_AGENT_HOST || '127.0.0.1'),
      port: flags.port ?? (env.KILN_AGENT_PORT || '9464'),
      results: flags.results ?? defaultResultsDir(env),
      device: flags.device ?? (env.KILN_AGENT_DEVICE || 'cpu'),
      events: flags.events ?? defaultEventsDir(env),
    };
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new InputError(`--port ${values.port}: expected a TCP port from 0 to 65535`);
    }
    const metrics = new AgentMetrics({ version: KILN_VERSION, processMetrics: true });
    let lastError: string | undefined;
    const watcher = watchResults(
      values.results,
      (results, info) => metrics.recordBuild(results, values.device, { replay: info.replay }),
      {
        onInterference: (record, info) => {
          if (!info.replay && record.events.length > 0)
            metrics.recordInterference(record.device, record.events.length);
        },
        onError: (error, file) => {
          lastError = `${file}: ${error.message.split('\n')[0]}`;
          io.stderr(`kiln-agent: ${lastError}\n`);
        },
      },
    );
    let eventsError: string | undefined;
    const deployEvents = watchDeployEvents(
      values.events,
      (record, info) => metrics.recordDeploy(record, { replay: info.replay }),
      {
        onError: (error) => {
          eventsError = error.message.split('\n')[0];
          io.stderr(`kiln-agent: ${eventsError}\n`);
        },
      },
    );
    const server = await startServer({
      host: values.host,
      port,
      registry: metrics.registry,
      health: async () => ({
        ok: lastError === undefined,
        checks: [
          { name: 'results-spool', ok: lastError === undefined, ...(lastError ? { detail: lastError } : {}) },
          // Reported but not fatal to /healthz: a bad events file costs metrics, not deploys or builds.
          {
            name: 'deploy-events',
            ok: eventsError === undefined,
            ...(eventsError ? { detail: eventsError } : {}),
          },
        ],
      }),
    });
    io.stdout(
      `kiln-agent: serving ${server.url}/metrics and /healthz; results spool ${values.results}; deploy events ${values.events}\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await watcher.close();
    await deployEvents.close();
    await server.close();
    return 0;
  },
};
