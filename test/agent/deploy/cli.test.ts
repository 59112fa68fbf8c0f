import { execa, type ResultPromise } from 'execa';
import { cp, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foreignIsa } from '../../helpers/foreign-host.js';
import { execaRunner } from '../../../src/backends/host/command-runner.js';
import { KilnError } from '../../../src/core/errors.js';
import { readNpy, writeNpy } from '../../../src/core/io/npy-files.js';
import { createDeployCommand } from '../../../runner-agent/src/deploy/command.js';
import { createRollbackCommand } from '../../../runner-agent/src/deploy/rollback-command.js';
import type { DeployRecord } from '../../../runner-agent/src/deploy/record.js';
import { ROOT } from '../../helpers/kiln-cli.js';
import { buildReleases, rehashRelease } from '../../helpers/release-from-store.js';

const agent = path.join(ROOT, 'bin', 'kiln-agent.js');
/** Enough interleaved samples to tell a 2× slowdown from noise: the A/B budget is at least 2 × --budget-ms. */
const FAST_LATENCY = ['--min-samples', '40', '--max-samples', '60', '--budget-ms', '1500'];

let releases: string;
let root: string;
let serve: ResultPromise | undefined;
let port: number;

function deploy(target: string, ...extra: string[]) {
  return execa(
    'node',
    [agent, 'deploy', target, '--releases', releases, '--root', root, ...FAST_LATENCY, ...extra],
    { reject: false },
  );
}

const current = () => readlink(path.join(root, 'det', 'current'));
const previous = () => readlink(path.join(root, 'det', 'previous'));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as net.AddressInfo;
      server.close(() => resolve(p));
    });
  });
}

beforeAll(async () => {
  // v1 and v3 are the same graph under two names (two keys); v2 computes the same y several times slower.
  const built = await buildReleases('det', { '1': 'fast', '2': 'slow', '3': 'fastToo' });
  releases = built.releases;
  root = path.join(built.dir, 'serving');
  // v4: v3 with one stored golden output changed and release.json re-hashed, so only warmup can tell.
  const v4 = path.join(releases, 'det', '4');
  await cp(path.join(releases, 'det', '3'), v4, { recursive: true });
  const [engineDir] = await readdir(path.join(v4, 'engines'));
  const golden = path.join(v4, 'engines', engineDir!, 'golden', '1', 'out-y.npy');
  const y = await readNpy(golden);
  (y.data as Float32Array)[5] = (y.data as Float32Array)[5]! + 0.5;
  await writeNpy(golden, y);
  await rehashRelease(v4, { version: '4' });
  // v5: v3 with its engine file damaged after publishing (release.json left as it was).
  const v5 = path.join(releases, 'det', '5');
  await cp(path.join(releases, 'det', '3'), v5, { recursive: true });
  await rehashRelease(v5, { version: '5' });
  const engine = path.join(v5, 'engines', engineDir!, 'engine.ort');
  const bytes = await readFile(engine);
  bytes[bytes.length - 1] ^= 0xff;
  await writeFile(engine, bytes);

  port = await freePort();
  serve = execa(
    'node',
    [
      agent,
      'serve',
      '--port',
      String(port),
      '--results',
      path.join(built.dir, 'results'),
      '--events',
      path.join(root, '.events'),
    ],
    { reject: false },
  );
  // Deploys must start after the agent's first look at the spool: files already there count as
  // replayed (gauges only), which is right for a restart but would hide this run's counters.
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

afterAll(async () => {
  serve?.kill('SIGTERM');
  await serve;
});

describe('kiln-agent deploy with real ONNX Runtime engines', () => {
  it('rollback with nothing to go back to is refused with exit 2', async () => {
    const run = await execa('node', [agent, 'rollback', 'det', '--root', root], { reject: false });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(
      'kiln-agent: rollback det: no previous version to go back to; nothing is serving',
    );
  });

  it('first deploy: nothing serves yet, so it switches without a latency comparison', async () => {
    const run = await deploy('det@1');
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.map((l) => /^deploy det@1: (\w+( skipped| failed)?):/.exec(l)?.[1])).toEqual([
      'pull',
      'verify',
      'load',
      'warmup',
      'latency skipped',
      'switch',
      'done',
    ]);
    expect(lines[6]).toBe('deploy det@1: done: serving 1');
    expect(await current()).toBe('versions/1');
    await expect(previous()).rejects.toThrow(/ENOENT/);
  });

  it('a good version switches after warmup and p99 pass, and previous records the one before', async () => {
    // An A/A comparison: a 50% gate keeps a noisy shared runner from failing the good case.
    const run = await deploy('det@3', '--max-regression-pct', '50');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/deploy det@3: warmup: b1\/fp32 2 samples match the stored goldens/);
    expect(run.stdout).toMatch(
      /deploy det@3: latency: b1\/fp32 p\d+ [+-]\d+% \[[+-]\d+%, [+-]\d+%\] vs serving 1: /,
    );
    expect(run.stdout).toContain('deploy det@3: switch: current → versions/3, previous → versions/1');
    expect(await current()).toBe('versions/3');
    expect(await previous()).toBe('versions/1');
  });

  it('deploying the serving version again is a no-op, and a missing version is refused at pull', async () => {
    const same = await deploy('det@3');
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toBe('deploy det@3: already serving 3; nothing to do');
    const missing = await deploy('det@9');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.trim()).toBe(
      `kiln-agent: deploy det@9 refused: pull: ${path.join(releases, 'det', '9')}: no such release (no release.json there); still serving 3`,
    );
    expect(await current()).toBe('versions/3');
  });

  it('a version that regresses latency is refused with exit 1; the pointer stays on the serving one', async () => {
    const run = await deploy('det@2', '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const last = run.stderr.trim().split('\n').at(-1);
    expect(last).toMatch(
      /^kiln-agent: deploy det@2 refused: b1\/fp32 p\d+ \+\d+% \[\+\d+%, \+\d+%\] vs serving 3; still serving 3$/,
    );
    const result = JSON.parse(run.stdout) as DeployRecord;
    expect(result).toMatchObject({ outcome: 'refused', reason: 'latency', previous: '3', serving: '3' });
    expect(result.engines[0]!.latency).toMatchObject({ verdict: 'regression', against: '3' });
    expect(result.engines[0]!.latency!.ratio).toBeGreaterThan(1.3);
    expect(await current()).toBe('versions/3');
    expect(await previous()).toBe('versions/1');
    expect((await readdir(path.join(root, 'det', 'versions'))).sort()).toEqual(['1', '3']);
  });

  it('a warmup whose outputs disagree with the stored goldens is refused, naming sample, output and diff', async () => {
    const run = await deploy('det@4');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('deploy det@4: warmup failed: b1/fp32 sample 1:');
    expect(run.stderr.trim()).toMatch(
      /^kiln-agent: deploy det@4 refused: warmup b1\/fp32 sample 1: output 'y': 1 of 64 elements outside atol .* \(max abs diff 0\.5 at \[0,5\]: .*\); still serving 3$/,
    );
    expect(await current()).toBe('versions/3');
  });

  it('a damaged engine is refused at verify with exit 2, before anything runs', async () => {
    const run = await deploy('det@5');
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^kiln-agent: deploy det@5 refused: verify: .*engine\.ort: sha256 \w+ differs from release\.json's \w+: the release is damaged or was tampered with; still serving 3$/,
    );
    expect(run.stdout).not.toContain('det@5: load');
    expect(await current()).toBe('versions/3');
  });

  it('an engine built for other hardware is refused with exit 2, naming both sides', async () => {
    // This host, as another CPU would look (derived from this one's flags, so it differs anywhere).
    const other = foreignIsa();
    const command = createDeployCommand({
      hostFingerprint: async () => ({ kind: 'cpu', arch: process.arch, isa: other.isa }),
    });
    const out: string[] = [];
    const io = {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => out.push(t),
      runner: execaRunner(),
      env: {},
    };
    const error = await command
      .run(['det@1', '--releases', releases, '--root', root, ...FAST_LATENCY], io)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(KilnError);
    expect((error as KilnError).exitCode).toBe(2);
    expect((error as KilnError).message).toMatch(
      /^deploy det@1 refused: verify: det@1 b1\/fp32: built for CPU \w+ with \d+ ISA flags .*\(onnxruntime-cpu engine [0-9a-f]{12}\); this host: CPU x64 with \d+ ISA flags \(.*\): CPU ISA: .*; still serving 3$/,
    );
    if (other.removed) expect((error as KilnError).message).toContain(`engine needs ${other.removed}`);
    if (other.added) expect((error as KilnError).message).toContain(`this host adds ${other.added}`);
    expect(await current()).toBe('versions/3');
  });

  it('rollback serves the previous version again after re-verifying it, and a second one undoes it', async () => {
    const back = await execa('node', [agent, 'rollback', 'det', '--root', root], { reject: false });
    expect(back.exitCode).toBe(0);
    expect(back.stdout).toMatch(
      /^rollback det: verify: versions\/1: every file matches release.json; b1\/fp32 built for this host\n/,
    );
    expect(back.stdout).toContain('rollback det: rollback: current → versions/1, previous → versions/3');
    expect(await current()).toBe('versions/1');
    expect(await previous()).toBe('versions/3');
    const again = await execa('node', [agent, 'rollback', 'det', '--root', root], { reject: false });
    expect(again.exitCode).toBe(0);
    expect(await current()).toBe('versions/3');
  });

  it('rollback refuses a previous version that no longer fits this host, and keeps serving', async () => {
    const command = createRollbackCommand({
      hostFingerprint: async () => ({ kind: 'cpu', arch: process.arch, isa: foreignIsa().isa }),
    });
    const io = { stdout: () => undefined, stderr: () => undefined, runner: execaRunner(), env: {} };
    await expect(command.run(['det', '--root', root], io)).rejects.toThrow(
      /^rollback det refused: previous version 1: det@1 b1\/fp32: built for CPU .*; still serving 3$/,
    );
    expect(await current()).toBe('versions/3');
    expect(await previous()).toBe('versions/1');
  });

  it('/metrics shows the step counters, refusals by reason and the serving version', async () => {
    const want = [
      'kiln_deploy_steps_total{model="det",step="switch",outcome="ok"} 2',
      'kiln_deploy_steps_total{model="det",step="latency",outcome="fail"} 1',
      'kiln_deploy_steps_total{model="det",step="warmup",outcome="fail"} 1',
      'kiln_deploy_rollbacks_total{model="det",reason="latency"} 1',
      'kiln_deploy_rollbacks_total{model="det",reason="hardware"} 1',
      'kiln_deploy_rollbacks_total{model="det",reason="verify"} 1',
      'kiln_deploy_rollbacks_total{model="det",reason="pull"} 1',
      'kiln_deploy_rollbacks_total{model="det",reason="manual"} 2',
      'kiln_deploy_serving_info{model="det",version="3"} 1',
    ];
    let metrics = '';
    for (let i = 0; i < 40 && !want.every((w) => metrics.includes(w)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
    }
    for (const w of want) expect(metrics).toContain(w);
    expect(metrics).not.toContain('kiln_deploy_serving_info{model="det",version="1"}');
    expect(metrics).toMatch(/kiln_deploy_p99_ms\{model="det",version="3"\} \d/);
  });
});
