import { execFile } from 'node:child_process';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { firstLine, InputError } from '../core/errors.js';

/** The git operations kiln plan and kiln bench need, rooted at the config's repository. */
export interface Repo {
  /** Absolute top folder, spelt so that it is a prefix of the config's own (maybe symlinked) path. */
  root: string;
  resolve(ref: string): Promise<string>;
  mergeBase(ref: string, sha: string): Promise<string>;
  diffNames(ref: string, sha: string): Promise<string[]>;
  /** A file's text at a commit, or null when it does not exist there. */
  showFile(sha: string, repoPath: string): Promise<string | null>;
  /** A detached checkout of `sha` in a temp folder; `remove` deletes it and git's record of it. */
  worktree(sha: string): Promise<{ dir: string; remove: () => Promise<void> }>;
}

/** Opens the repository holding `configDir`; one clear line when there is none. */
export async function openRepo(configDir: string): Promise<Repo> {
  const top = await git(['rev-parse', '--show-toplevel'], configDir);
  if (top.exitCode !== 0) {
    throw new InputError(`${configDir}: not inside a git repository (needed for --base and --changed)`);
  }
  const gitRoot = top.stdout.trim();
  // git prints the real path; the config's path may run through a symlink (/tmp → /private/tmp).
  // Re-spell the root from the config's side so repo-relative paths line up.
  const inRepo = path.relative(await realpath(gitRoot), await realpath(configDir));
  const root = inRepo === '' ? configDir : path.resolve(configDir, ...inRepo.split(path.sep).map(() => '..'));
  const where = gitRoot;
  return {
    root,
    async resolve(ref) {
      // A ref that starts with '-' would be read as an option.
      const result = ref.startsWith('-')
        ? undefined
        : await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], where);
      if (result?.exitCode !== 0) throw new InputError(`--base ${ref}: not a git revision in ${where}`);
      return result!.stdout.trim();
    },
    async mergeBase(ref, sha) {
      const result = await git(['merge-base', sha, 'HEAD'], where);
      if (result.exitCode !== 0) {
        throw new InputError(
          `--base ${ref}: no merge base with HEAD in ${where} (a shallow clone? check out with fetch-depth: 0)`,
        );
      }
      return result.stdout.trim();
    },
    async diffNames(ref, sha) {
      const result = await git(['diff', '--name-only', '--no-renames', '-z', `${sha}...HEAD`, '--'], where);
      if (result.exitCode !== 0) {
        throw new InputError(
          `--base ${ref}: git diff failed in ${where}: ${firstLine(result.stderr.trim())}`,
        );
      }
      return result.stdout.split('\0').filter((f) => f !== '');
    },
    async showFile(sha, repoPath) {
      const spec = `${sha}:${repoPath}`;
      const exists = await git(['cat-file', '-e', spec], where);
      if (exists.exitCode !== 0) return null;
      const result = await git(['show', spec], where);
      if (result.exitCode !== 0)
        throw new InputError(`git show ${spec} failed: ${firstLine(result.stderr.trim())}`);
      return result.stdout;
    },
    async worktree(sha) {
      const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-base-')), 'tree');
      const added = await git(['worktree', 'add', '--detach', dir, sha], where);
      if (added.exitCode !== 0) {
        throw new InputError(
          `git worktree add ${sha.slice(0, 12)} failed: ${firstLine(added.stderr.trim())}`,
        );
      }
      return {
        dir,
        remove: async () => {
          await git(['worktree', 'remove', '--force', dir], where);
          await rm(path.dirname(dir), { recursive: true, force: true });
        },
      };
    },
  };
}

/** The commit checked out at `dir`, or undefined outside a repository (provenance is best effort). */
export async function headCommit(dir: string): Promise<string | undefined> {
  try {
    const result = await git(['rev-parse', '--verify', '--quiet', 'HEAD'], dir);
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

interface GitRun {
  /** undefined when git did not run to an exit (not on PATH, killed, output over the bound). */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  message: string;
}

/** Output bound per git call, as execa's default maxBuffer was. */
const MAX_GIT_OUTPUT = 100 * 1024 * 1024;

/**
 * Runs git; a non-zero exit is the caller's to judge, but git missing altogether is an error here.
 * node:child_process rather than execa: every cache-hit build asks git for HEAD, and execa is ~100
 * modules to load for that one call.
 */
async function git(args: string[], cwd: string): Promise<GitRun> {
  const result = await new Promise<GitRun>((resolve) => {
    execFile('git', args, { cwd, encoding: 'utf8', maxBuffer: MAX_GIT_OUTPUT }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code;
      resolve({
        exitCode: error === null ? 0 : typeof code === 'number' ? code : undefined,
        stdout,
        stderr,
        message: error?.message ?? '',
      });
    });
  });
  if (result.exitCode === undefined) {
    throw new InputError(
      `git: cannot run it (${firstLine(result.message)}); kiln needs git on PATH for --base and --changed`,
      { cause: result },
    );
  }
  return result;
}
