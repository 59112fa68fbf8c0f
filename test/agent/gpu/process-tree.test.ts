import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  descendantsOf,
  parseStatParent,
  procProcessSource,
} from '../../../runner-agent/src/gpu/process-tree.js';

describe('parseStatParent', () => {
  it('reads the ppid after the last parenthesis, whatever the command name holds', () => {
    // proc(5): pid (comm) state ppid ...; comm is the process's own choice and may hold ") (".
    expect(parseStatParent('4242 (trtexec) S 4241 4242 4200 0 -1 4194560 1234')).toBe(4241);
    expect(parseStatParent('77 (evil) S 1 (x) R 5) S 76 77 77 0 -1')).toBe(76);
    expect(parseStatParent('garbage')).toBeNull();
  });
});

describe('descendantsOf', () => {
  it('walks children and grandchildren, not siblings or ancestors', () => {
    // agent 100 → kiln build 101 → trtexec 102 → helper 103; a neighbour 200 under init.
    const parents = new Map([
      [1, 0],
      [100, 1],
      [101, 100],
      [102, 101],
      [103, 102],
      [200, 1],
    ]);
    expect([...descendantsOf([100], parents)].sort()).toEqual([100, 101, 102, 103]);
    expect(descendantsOf([101], parents).has(100)).toBe(false);
    expect(descendantsOf([999], parents)).toEqual(new Set([999]));
  });
});

describe('procProcessSource on this machine', () => {
  it("finds a child's child of this process in the real /proc", async () => {
    // sh starts sleep in the background and prints its pid: sleep is this test's grandchild.
    const child = execa('sh', ['-c', 'sleep 30 & echo $!; wait'], { reject: false });
    let grandchild = 0;
    try {
      grandchild = await new Promise<number>((resolve) =>
        child.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))),
      );
      const parents = await procProcessSource().snapshot();
      expect(parents.get(grandchild)).toBe(child.pid);
      const ours = descendantsOf([process.pid], parents);
      expect(ours.has(child.pid!)).toBe(true);
      expect(ours.has(grandchild)).toBe(true);
      expect(ours.has(process.ppid)).toBe(false);
    } finally {
      if (grandchild > 0) process.kill(grandchild, 'SIGKILL');
      child.kill('SIGKILL');
      await child;
    }
  });

  it('an unreadable /proc is an empty table (every GPU process then reads as foreign)', async () => {
    expect((await procProcessSource('/nonexistent-proc').snapshot()).size).toBe(0);
  });
});
