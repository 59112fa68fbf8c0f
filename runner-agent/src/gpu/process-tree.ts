/**
 * Which processes are ours: the interference monitor must not count kiln's own grandchildren (a
 * `kiln build` child running trtexec) as neighbours. Linux has no "descendants of" call, so a
 * snapshot of every process's parent is taken from /proc and walked down from our roots.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** pid → parent pid, one snapshot of the process table. */
export type ParentMap = ReadonlyMap<number, number>;

/** Where process-table snapshots come from: /proc in production, a literal map in tests. */
export interface ProcessSource {
  snapshot(): Promise<ParentMap>;
}

/**
 * The parent pid from a `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and
 * may itself hold spaces and `)`, so fields are counted after the LAST `)` (proc(5)): state, ppid.
 */
export function parseStatParent(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const ppid = Number(
    stat
      .slice(close + 1)
      .trim()
      .split(/\s+/)[1],
  );
  return Number.isInteger(ppid) && ppid >= 0 ? ppid : null;
}

/**
 * Reads every `<procRoot>/<pid>/stat`. A process that exits while the table is read is simply
 * absent; an unreadable /proc yields an empty map, so every GPU process reads as foreign (the
 * fail-closed direction: a neighbour is reported rather than missed).
 */
export function procProcessSource(procRoot = '/proc'): ProcessSource {
  return {
    async snapshot() {
      const parents = new Map<number, number>();
      let entries: string[];
      try {
        entries = await readdir(procRoot);
      } catch {
        return parents;
      }
      await Promise.all(
        entries
          .filter((name) => /^\d+$/.test(name))
          .map(async (name) => {
            try {
              const ppid = parseStatParent(await readFile(path.join(procRoot, name, 'stat'), 'utf8'));
              if (ppid !== null) parents.set(Number(name), ppid);
            } catch {
              // exited between readdir and read
            }
          }),
      );
      return parents;
    },
  };
}

/** The roots and every process below them in `parents` (children, grandchildren, …). */
export function descendantsOf(roots: Iterable<number>, parents: ParentMap): Set<number> {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    if (pid === ppid) continue;
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const found = new Set(roots);
  const queue = [...found];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop()!) ?? []) {
      if (!found.has(child)) {
        found.add(child);
        queue.push(child);
      }
    }
  }
  return found;
}
