import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseRecord } from '../../src/store/release/release-record.js';
import { runKiln } from '../helpers/kiln-cli.js';
import { buildReleases } from '../helpers/release-from-store.js';

/** Nine levels of nine aliases: 9^9 strings if expanded (the "billion laughs" of YAML). */
function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  let previous = 'a';
  for (const name of 'bcdefghi') {
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    previous = name;
  }
  return `${lines.join('\n')}\n`;
}

/** What a user sees: exactly one line on stderr, exit code 2, no stack frame. */
function expectOneLine(run: { exitCode: number; stderr: string }, line: string): void {
  expect(run.exitCode, run.stderr).toBe(2);
  expect(run.stderr.trim()).toBe(line);
}

describe('hostile files through the real CLI', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kiln-malformed-'));
    await mkdir(path.join(dir, 'inputs'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const bombLine = (file: string) =>
    `kiln: ${file}: YAML aliases expand too far (more than 100 alias references or a nested alias bomb), expected plain YAML with few anchors`;

  it('a YAML alias bomb in kiln.yaml is refused in one line', async () => {
    await writeFile(path.join(dir, 'kiln.yaml'), aliasBomb());
    expectOneLine(await runKiln(['keys'], dir), bombLine('kiln.yaml'));
  });

  it('a YAML alias bomb in a preprocessing manifest is refused in one line', async () => {
    await writeFile(path.join(dir, 'manifest.yaml'), aliasBomb());
    const run = await runKiln(['skew', '--manifest', 'manifest.yaml', '--inputs', 'inputs'], dir);
    expectOneLine(run, bombLine('manifest.yaml'));
  });

  const results: Array<[string, string, string]> = [
    [
      'an empty object',
      '{}',
      'schema: found nothing (key missing), expected one of "kiln.build-results/v1", "kiln.ab-results/v1", "kiln.interference/v1" (a file written by kiln build/bench --json or kiln-agent run)',
    ],
    [
      'null',
      'null',
      '(top level): found null, expected an object whose schema is one of "kiln.build-results/v1", "kiln.ab-results/v1", "kiln.interference/v1" (a file written by kiln build/bench --json or kiln-agent run)',
    ],
    [
      'a list holding null',
      '[null]',
      '[0]: found null, expected an object whose schema is one of "kiln.build-results/v1", "kiln.ab-results/v1", "kiln.interference/v1" (a file written by kiln build/bench --json or kiln-agent run)',
    ],
    [
      'build results whose engines are not a list',
      '{"schema":"kiln.build-results/v1","kilnVersion":"0.1.0","target":"cpu","backend":"onnxruntime-cpu","hardware":{},"startedAt":"","finishedAt":"","engines":"none","gates":{"golden":"pass"}}',
      'engines: found "none", expected a list',
    ],
    [
      'build results holding an engine of {}',
      '{"schema":"kiln.build-results/v1","kilnVersion":"0.1.0","target":"cpu","backend":"onnxruntime-cpu","hardware":{},"startedAt":"","finishedAt":"","engines":[{}],"gates":{"golden":"pass"}}',
      'engines[0].model: found nothing (key missing), expected string (+10 more)',
    ],
    [
      'A/B results holding null',
      '{"schema":"kiln.ab-results/v1","target":"cpu","baseRef":"main","comparisons":[null]}',
      'comparisons[0]: found null, expected object',
    ],
  ];

  it.each(results)('kiln report on %s names the file and key in one line', async (_what, text, line) => {
    await writeFile(path.join(dir, 'results.json'), text);
    expectOneLine(await runKiln(['report', 'results.json'], dir), `kiln: results.json: ${line}`);
  });
});

describe('kiln triton on a release missing its engine file', () => {
  let releases: string;

  beforeAll(async () => {
    releases = path.join((await buildReleases('det', { '1': 'fast' })).dir, 'releases');
  }, 120_000);

  it('refuses in one line naming the missing file, writing no Triton repository', async () => {
    const damaged = path.join(releases, 'det-damaged', '1');
    await cp(path.join(releases, 'det', '1'), damaged, { recursive: true });
    const [engineDir] = await readdir(path.join(damaged, 'engines'));
    const engine = path.join(damaged, 'engines', engineDir!, 'engine.ort');
    await rm(engine);
    const record = JSON.parse(await readFile(path.join(damaged, 'release.json'), 'utf8')) as ReleaseRecord;
    const listed = record.engines[0]!.files.findIndex((f) => f.path === 'engine.ort');
    const repo = path.join(releases, 'triton');
    const run = await runKiln(['triton', damaged, '--out', repo], releases);
    expectOneLine(
      run,
      `kiln: ${engine}: file not found, but release.json lists it (engines[0].files[${listed}]): the release is incomplete or was tampered with`,
    );
    await expect(readdirSafe(repo)).resolves.toEqual([]);
  }, 60_000);
});

async function readdirSafe(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
