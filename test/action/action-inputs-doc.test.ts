import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/kiln-cli.js';

/** docs/action-inputs.md is what users read instead of action.yml: it must list every input, as it is. */
describe('docs/action-inputs.md', () => {
  const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string; required?: boolean }>;
    outputs: Record<string, unknown>;
  };
  const doc = readFileSync(path.join(ROOT, 'docs', 'action-inputs.md'), 'utf8');
  /** The body rows of the table whose header starts with `| <first>`, as trimmed cells. */
  const rows = (first: string): string[][] => {
    const lines = doc.split('\n');
    const start = lines.findIndex((l) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(l));
    const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
    return lines.slice(start + 2, end).map((l) =>
      l
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  };

  it('lists every input of action.yml, in its order, with its default and whether it is required', () => {
    const listed = rows('Input');
    expect(listed.map(([name]) => name)).toEqual(Object.keys(action.inputs).map((n) => `\`${n}\``));
    for (const [quoted, required, fallback] of listed) {
      const name = quoted!.slice(1, -1);
      const spec = action.inputs[name]!;
      expect(required, name).toBe(spec.required ? 'yes' : 'no');
      const expected =
        spec.default === undefined ? '—' : spec.default === '' ? '(empty)' : `\`${spec.default}\``;
      expect(fallback, name).toBe(expected);
    }
  });

  it('lists every output', () => {
    expect(rows('Output').map(([name]) => name)).toEqual(Object.keys(action.outputs).map((n) => `\`${n}\``));
  });
});
