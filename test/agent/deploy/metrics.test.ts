import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchDeployEvents, writeDeployEvents } from '../../../runner-agent/src/deploy/events.js';
import type { DeployRecord } from '../../../runner-agent/src/deploy/record.js';
import { AgentMetrics } from '../../../runner-agent/src/metrics.js';

function record(fields: Partial<DeployRecord>): DeployRecord {
  return {
    schema: 'kiln.deploy/v1',
    kind: 'deploy',
    model: 'det',
    version: '2',
    outcome: 'switched',
    previous: '1',
    serving: '2',
    engines: [],
    steps: [
      { step: 'pull', outcome: 'ok', at: 't', ms: 1, detail: '' },
      { step: 'switch', outcome: 'ok', at: 't', ms: 1, detail: '' },
    ],
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    ...fields,
  };
}

async function scrape(metrics: AgentMetrics): Promise<string> {
  return metrics.registry.metrics();
}

describe('AgentMetrics.recordDeploy', () => {
  it('counts steps, names only the serving version, and counts refusals by reason', async () => {
    const metrics = new AgentMetrics();
    metrics.recordDeploy(record({ p99Ms: 1.5 }));
    metrics.recordDeploy(
      record({
        version: '3',
        outcome: 'refused',
        reason: 'latency',
        serving: '2',
        previous: '2',
        p99Ms: 4,
        steps: [{ step: 'latency', outcome: 'fail', at: 't', ms: 1, detail: '' }],
      }),
    );
    const text = await scrape(metrics);
    expect(text).toContain('kiln_deploy_steps_total{model="det",step="switch",outcome="ok"} 1');
    expect(text).toContain('kiln_deploy_steps_total{model="det",step="latency",outcome="fail"} 1');
    expect(text).toContain('kiln_deploy_serving_info{model="det",version="2"} 1');
    expect(text).toContain('kiln_deploy_rollbacks_total{model="det",reason="latency"} 1');
    expect(text).toContain('kiln_deploy_p99_ms{model="det",version="3"} 4');

    metrics.recordDeploy(
      record({ kind: 'rollback', version: '1', reason: 'manual', serving: '1', steps: [] }),
    );
    const after = await scrape(metrics);
    expect(after).toContain('kiln_deploy_serving_info{model="det",version="1"} 1');
    expect(after).not.toContain('kiln_deploy_serving_info{model="det",version="2"}');
    expect(after).toContain('kiln_deploy_rollbacks_total{model="det",reason="manual"} 1');
  });

  it('on replay moves the gauges but not the counters', async () => {
    const metrics = new AgentMetrics();
    metrics.recordDeploy(record({}), { replay: true });
    const text = await scrape(metrics);
    expect(text).toContain('kiln_deploy_serving_info{model="det",version="2"} 1');
    expect(text).not.toContain('kiln_deploy_steps_total{');
  });

  it('keeps label values bounded: unknown enums read other, extra models fold, old p99 versions go', async () => {
    const metrics = new AgentMetrics({ maxLabelValues: 1 });
    metrics.recordDeploy(
      record({ steps: [{ step: 'exfiltrate' as never, outcome: 'ok', at: 't', ms: 1, detail: '' }] }),
    );
    metrics.recordDeploy(record({ model: 'second' }));
    for (const version of ['4', '5', '6'])
      metrics.recordDeploy(record({ version, serving: version, p99Ms: 1 }));
    const text = await scrape(metrics);
    expect(text).toContain('kiln_deploy_steps_total{model="det",step="other",outcome="ok"} 1');
    expect(text).toContain('kiln_deploy_steps_total{model="other",step="switch",outcome="ok"} 1');
    expect(text).not.toMatch(/kiln_deploy_serving_info\{model="other"/);
    expect(text.match(/kiln_deploy_p99_ms\{/g)).toHaveLength(2);
    expect(text).toContain('kiln_deploy_p99_ms{model="det",version="6"} 1');
  });
});

describe('the deploy events spool', () => {
  it('hands each new record over once, marks files already there as replay, and reports junk', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-events-'));
    await writeDeployEvents(dir, record({ version: '1', serving: '1' }));
    const seen: Array<[string, boolean]> = [];
    const errors: string[] = [];
    const watcher = watchDeployEvents(dir, (r, info) => seen.push([r.version, info.replay]), {
      intervalMs: 60_000,
      onError: (e) => errors.push(e.message),
    });
    await watcher.scan();
    await writeDeployEvents(dir, record({ version: '2' }));
    await writeFile(path.join(dir, 'junk.json'), '{"schema":"nope"}');
    await watcher.scan();
    await watcher.scan();
    await watcher.close();
    expect(seen).toEqual([
      ['1', true],
      ['2', false],
    ]);
    expect(errors).toEqual([`${path.join(dir, 'junk.json')}: not a kiln.deploy/v1 record`]);
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('treats a missing spool as nothing deployed yet', async () => {
    const errors: string[] = [];
    const watcher = watchDeployEvents(path.join(os.tmpdir(), 'kiln-no-such-spool'), () => undefined, {
      onError: (e) => errors.push(e.message),
    });
    await watcher.scan();
    await watcher.close();
    expect(errors).toEqual([]);
  });
});
