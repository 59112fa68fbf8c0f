import { execa } from 'execa';
import { mkdir, mkdtemp, realpath, rename, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openConfined, readConfined } from '../../src/core/io/confined-file.js';
import { oneLineKilnError } from '../helpers/one-line-error.js';
import { SECRET, secretFile } from './refusal.js';

const OPTIONS = { what: 'test file', maxBytes: 1024 };

async function root(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-confined-'));
  await mkdir(path.join(dir, 'data'));
  await writeFile(path.join(dir, 'data', 'a.bin'), 'inside');
  return dir;
}

describe('readConfined', () => {
  it('reads a regular file inside the root, and one reached through a symlink that stays inside', async () => {
    const dir = await root();
    await symlink('data/a.bin', path.join(dir, 'link.bin'));
    expect((await readConfined(dir, path.join(dir, 'data', 'a.bin'), OPTIONS)).toString()).toBe('inside');
    expect((await readConfined(dir, path.join(dir, 'link.bin'), OPTIONS)).toString()).toBe('inside');
  });

  it("refuses that inside symlink with symlinks: 'none' (data folders)", async () => {
    const dir = await root();
    await symlink('data/a.bin', path.join(dir, 'link.bin'));
    const error = await oneLineKilnError(
      readConfined(dir, path.join(dir, 'link.bin'), { ...OPTIONS, symlinks: 'none' }),
    );
    expect(error.message).toContain('reached through a symlink');
  });

  it('refuses a symlink, or a folder symlink, resolving outside; never shows the content', async () => {
    const dir = await root();
    const secret = await secretFile();
    await symlink(secret, path.join(dir, 'file-link'));
    await symlink(path.dirname(secret), path.join(dir, 'dir-link'));
    for (const file of [path.join(dir, 'file-link'), path.join(dir, 'dir-link', 'shadow')]) {
      const error = await oneLineKilnError(readConfined(dir, file, OPTIONS));
      expect(error.message).toBe(
        `${file}: cannot read test file (resolves to ${await realpath(secret)}, outside ${await realpath(dir)})`,
      );
      expect(error.message).not.toContain(SECRET);
    }
  });

  it('refuses a FIFO and a device without blocking, and a file over the bound before reading it', async () => {
    const dir = await root();
    await execa('mkfifo', [path.join(dir, 'fifo')]);
    await expect(readConfined(dir, path.join(dir, 'fifo'), OPTIONS)).rejects.toThrow(
      'cannot read test file (is a FIFO, expected a regular file)',
    );
    await expect(readConfined('/dev', '/dev/zero', OPTIONS)).rejects.toThrow(
      'is a device, expected a regular file',
    );
    await writeFile(path.join(dir, 'big'), new Uint8Array(2048));
    await expect(
      readConfined(dir, path.join(dir, 'big'), { ...OPTIONS, limitName: 'limits.x' }),
    ).rejects.toThrow(
      `${path.join(dir, 'big')}: test file is 2048 bytes, over the 1024-byte limit (limits.x)`,
    );
  });

  it('checks the handle it returns: a folder swapped for an outside link after the open cannot redirect it', async () => {
    const dir = await root();
    const { handle } = await openConfined(dir, path.join(dir, 'data', 'a.bin'), OPTIONS);
    try {
      // Swapping after the open changes nothing for the holder of the handle: it reads what was checked.
      await rename(path.join(dir, 'data'), path.join(dir, 'moved'));
      await symlink(path.dirname(await secretFile()), path.join(dir, 'data'));
      expect((await handle.readFile()).toString()).toBe('inside');
    } finally {
      await handle.close();
    }
  });
});
