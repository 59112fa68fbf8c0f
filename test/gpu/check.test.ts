import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/kiln-cli.js';

// test/gpu/check.sh runs on a lent NVIDIA machine. Here it runs against stand-ins on PATH
// (stub-bin/): nvidia-smi answering with recorded H100 output and listing the stub matmul
// processes as compute apps, python3 answering for PyTorch. Everything else is real: the built
// kiln-agent, its lease, /proc, the interference monitor and the script's own PASS/FAIL logic.
const SCRIPT = path.join(ROOT, 'test', 'gpu', 'check.sh');
const STUBS = path.join(ROOT, 'test', 'gpu', 'stub-bin');

function runCheck(env: Record<string, string> = {}) {
  return execa('bash', [SCRIPT], {
    reject: false,
    all: true,
    env: { PATH: `${STUBS}:${process.env.PATH}`, KILN_CHECK_LIST_SECONDS: '3', ...env },
  });
}

const steps = (output: string) => output.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));

describe('test/gpu/check.sh', () => {
  it('is valid bash (and clean under shellcheck where it is installed)', async () => {
    expect((await execa('bash', ['-n', SCRIPT], { reject: false })).exitCode).toBe(0);
    const lint = await execa(
      'shellcheck',
      [SCRIPT, path.join(STUBS, 'nvidia-smi'), path.join(STUBS, 'python3')],
      {
        reject: false,
      },
    );
    if (lint.code !== 'ENOENT') expect(lint.stdout).toBe('');
  });

  it("passes every step when the lease pins the GPU, the neighbour is reported and kiln's grandchild is not", async () => {
    const result = await runCheck();
    expect(steps(result.all)).toEqual([
      'PASS probe: NVIDIA H100 80GB HBM3 sm9.0 GPU-00000000-0000-0000-0000-000000000000',
      expect.stringMatching(/^PASS labels: .*\bgpu sm90 h100\b/),
      expect.stringMatching(/^PASS doctor: \d+ findings$/),
      'PASS lease: child sees 1 device, NVIDIA H100 80GB HBM3 00000000-0000-0000-0000-000000000000',
      expect.stringMatching(/^PASS foreign: reported: by python3 \(pid \d+, 530 MiB\)$/),
      expect.stringMatching(/^PASS own-grandchild: pid \d+ was on the GPU and not reported$/),
    ]);
    expect(result.all).toMatch(/\nALL PASSED$/);
    expect(result.exitCode).toBe(0);
  }, 240_000);

  it('fails, naming each step, when CUDA sees every GPU and nvidia-smi hides processes (a container)', async () => {
    const result = await runCheck({ STUB_CUDA_SEES_ALL: '1', STUB_HIDE_PROCESSES: '1' });
    const lines = steps(result.all);
    expect(lines.slice(0, 3).every((l) => l.startsWith('PASS '))).toBe(true);
    expect(lines.slice(3)).toEqual([
      expect.stringMatching(/^FAIL lease: child saw CUDA_VISIBLE_DEVICES=GPU-0{8}-.*, 2 device\(s\)/),
      expect.stringMatching(/^FAIL foreign: nvidia-smi never listed the foreign process \d+/),
      expect.stringMatching(
        /^FAIL own-grandchild: the grandchild matmul \(\d+\) never showed up in nvidia-smi$/,
      ),
    ]);
    expect(result.all).toMatch(/\nFAILED: 3 step\(s\)$/);
    expect(result.exitCode).toBe(1);
  }, 240_000);
});
