import { execa } from 'execa';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '../../src/cli/write-json.js';
import { KilnError } from '../../src/core/errors.js';
import { oneLineKilnError } from '../helpers/one-line-error.js';
import { ROOT } from '../helpers/kiln-cli.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-write-json-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('--json PATH', () => {
  it('a new path (folders included) and an existing regular file get the whole document by rename', async () => {
    const fresh = path.join(tmp, 'new', 'deeper', 'results.json');
    await writeJsonAtomic(fresh, { a: 1 });
    expect(JSON.parse(await readFile(fresh, 'utf8'))).toEqual({ a: 1 });

    const existing = path.join(tmp, 'existing.json');
    await writeFile(existing, 'old and much longer than the new document');
    const before = await stat(existing);
    await writeJsonAtomic(existing, { b: 2 });
    expect(JSON.parse(await readFile(existing, 'utf8'))).toEqual({ b: 2 });
    // A new inode: readers of the old file never saw a half-written one.
    expect((await stat(existing)).ino).not.toBe(before.ino);
    expect((await readdir(tmp)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a directory is refused in one line (exit 2) and left as it was', async () => {
    const dir = path.join(tmp, 'a-folder');
    await mkdir(dir);
    const error = await oneLineKilnError(writeJsonAtomic(dir, { a: 1 }));
    expect(error).toBeInstanceOf(KilnError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `${dir}: is a directory, expected a file to write results to (or '-' for stdout)`,
    );
    expect((await lstat(dir)).isDirectory()).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a fifo is written in place, not replaced by a regular file', async () => {
    const fifo = path.join(tmp, 'results.fifo');
    await execa('mkfifo', [fifo]);
    const reader = readFile(fifo, 'utf8');
    await writeJsonAtomic(fifo, { c: 3 });
    expect(JSON.parse(await reader)).toEqual({ c: 3 });
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it("'-' writes to stdout", async () => {
    const seen: string[] = [];
    await writeJsonAtomic('-', { d: 4 }, async (text) => {
      seen.push(text);
    });
    expect(seen.map((t) => JSON.parse(t) as unknown)).toEqual([{ d: 4 }]);
    expect(await readdir(tmp)).not.toContain('-');
  });

  // A real process whose stdout is a shell pipe (a fifo, as in `kiln build --json /dev/stdout | jq`):
  // both '-' and the path of fd 1 reach the reader. /proc/self/fd/1 rather than /dev/stdout so that a
  // regression renames nothing over /dev when the tests run as root.
  it.each(['-', '/proc/self/fd/1'])('in a real process, %s reaches its stdout', async (target) => {
    const module = path.join(ROOT, 'build', 'src', 'cli', 'write-json.js');
    const script = `import(${JSON.stringify(module)}).then((m) => m.writeJsonAtomic(${JSON.stringify(target)}, { e: 5 }))`;
    const run = await execa('sh', ['-c', `"${process.execPath}" -e "$0" | cat`, script], {
      reject: false,
      cwd: tmp,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ e: 5 });
  });
});
