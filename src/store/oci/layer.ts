import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import tar from 'tar-stream';
import type { Pack } from 'tar-stream';
import { InputError } from '../../core/errors.js';
import { compareText } from '../../core/ordering.js';
import type { ReleaseFile } from '../release/release-record.js';

/** A tar written to disk: its file, sha256 digest (`sha256:…`) and size, as an OCI descriptor needs. */
export interface PackedLayer {
  file: string;
  digest: string;
  size: number;
}

/**
 * Packs the listed files of `dir` into an uncompressed tar at `outFile`, deterministically: sorted
 * paths, mtime 0, mode 0644, uid/gid 0, no owner names, no directory entries. The same release
 * therefore always gives the same layer digest, which is what makes a second push a no-op. Each file
 * is re-hashed as it is read: one that changed since it was verified is refused, not published.
 */
export async function packLayer(dir: string, files: ReleaseFile[], outFile: string): Promise<PackedLayer> {
  const sorted = [...files].sort((a, b) => compareText(a.path, b.path));
  for (const entry of sorted) safeEntryPath(dir, entry.path, dir);
  const pack = tar.pack();
  const written = writeAll(pack, outFile);
  written.catch(() => undefined); // awaited below; this only stops an early unhandled rejection
  try {
    for (const entry of sorted) await addFile(pack, dir, entry);
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    await written.catch(() => undefined);
    throw error;
  }
  const { digest, size } = await written;
  return { file: outFile, digest, size };
}

type Sink = ReturnType<Pack['entry']>;

async function addFile(pack: Pack, dir: string, entry: ReleaseFile): Promise<void> {
  const full = path.join(dir, entry.path);
  let done: (error?: Error | null) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    done = (error) => (error ? reject(error) : resolve());
  });
  finished.catch(() => undefined); // awaited below; a refusal first would leave it unobserved
  const header = { name: entry.path, size: entry.bytes, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 };
  const sink = pack.entry({ ...header, uname: '', gname: '', type: 'file' }, done);
  // Errors also reach `done`; without a listener an 'error' event would be thrown out of band.
  sink.on('error', () => undefined);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(full)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).byteLength;
      if (!sink.write(chunk)) await drained(sink);
      if (sink.destroyed) break;
    }
  } catch (error) {
    throw new InputError(`${full}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  if (sink.destroyed) await finished; // rejects with why the tar stream stopped
  if (hash.digest('hex') !== entry.sha256 || bytes !== entry.bytes) {
    throw new InputError(
      `${full}: differs from release.json (changed since it was verified?); refusing to push it`,
    );
  }
  sink.end(undefined); // streamx's end() takes an optional last chunk
  await finished;
}

/** Resolves when a streamx writable wants more, or ends (its error then reaches the entry callback). */
function drained(sink: Sink): Promise<void> {
  return new Promise((resolve) => {
    if (sink.destroyed) {
      resolve();
      return;
    }
    const settle = (): void => {
      sink.off('drain', settle);
      sink.off('close', settle);
      resolve();
    };
    sink.on('drain', settle);
    sink.on('close', settle);
  });
}

async function writeAll(pack: Pack, outFile: string): Promise<{ digest: string; size: number }> {
  const out = await open(outFile, 'w');
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const data of pack) {
      const chunk = data as Uint8Array;
      hash.update(chunk);
      size += chunk.byteLength;
      await out.write(chunk);
    }
  } finally {
    await out.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/**
 * Unpacks a layer tar into `dest`, trusting nothing in it: only regular files and folders, only
 * paths that stay inside `dest`, only files that release.json lists (`allowed`), each written once.
 * `where` names the layer in errors. Returns the relative paths written.
 */
export async function extractLayer(
  tarFile: string,
  dest: string,
  allowed: ReadonlySet<string>,
  where: string,
): Promise<string[]> {
  await mkdir(dest, { recursive: true });
  const extract = tar.extract();
  const source = createReadStream(tarFile);
  source.on('error', (error) => extract.destroy(error));
  source.pipe(extract);
  const written: string[] = [];
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      if (type === 'directory') {
        await mkdir(safeEntryPath(dest, name.replace(/\/+$/, ''), where), { recursive: true });
      } else if (type === 'file' || type === 'contiguous-file') {
        const target = safeEntryPath(dest, name, where);
        if (!allowed.has(name))
          throw new InputError(`${where}: tar entry '${name}' is not listed in release.json`);
        await mkdir(path.dirname(target), { recursive: true });
        const out = await open(target, 'wx', 0o644).catch((error: unknown) => {
          throw new InputError(`${where}: tar entry '${name}' appears twice`, { cause: error });
        });
        try {
          for await (const chunk of entry) await out.write(chunk as Uint8Array);
        } finally {
          await out.close();
        }
        written.push(name);
      } else {
        throw new InputError(
          `${where}: tar entry '${name}' is a ${type ?? 'special file'}, expected a regular file`,
        );
      }
    }
  } catch (error) {
    source.destroy();
    if (error instanceof InputError) throw error;
    throw new InputError(`${where}: not a readable tar (${(error as Error).message})`, { cause: error });
  }
  return written;
}

/** `dest/rel`, refusing anything absolute, non-normalized or climbing out of `dest`. */
function safeEntryPath(dest: string, rel: string, where: string): string {
  const normalized = path.posix.normalize(rel);
  const escapes =
    rel === '' ||
    rel.includes('\0') ||
    rel.includes('\\') ||
    path.posix.isAbsolute(rel) ||
    normalized !== rel ||
    normalized.split('/').some((part) => part === '..' || part === '.');
  const full = path.resolve(dest, rel);
  if (escapes || !full.startsWith(path.resolve(dest) + path.sep)) {
    throw new InputError(`${where}: tar entry '${rel}' escapes its folder`);
  }
  return full;
}
