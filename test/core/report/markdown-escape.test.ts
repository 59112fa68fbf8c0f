import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { escapeCode, escapeMarkdown } from '../../../src/core/report/markdown-escape.js';

const ZWSP = '&#8203;';

/** Strings rich in the characters that matter, plus arbitrary Unicode. */
const hostile = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc
    .array(
      fc.constantFrom(
        '|',
        '\\',
        '`',
        '*',
        '_',
        '[',
        ']',
        '(',
        ')',
        '<',
        '>',
        '&',
        '#',
        '!',
        '~',
        '$',
        '@',
        ':',
        '/',
        '.',
        '-',
        '+',
        '=',
        '1',
        'a',
        'w',
        'W',
        ' ',
        '\n',
        '\r',
        '\t',
        '\u2028',
        '\u202e',
        'http',
        'www.',
        '](',
        '<!--',
        '-->',
        '@octocat',
        '#12',
        '&#124;',
        '\\|',
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join('')),
);

describe('escapeMarkdown', () => {
  it('leaves plain names alone', () => {
    expect(escapeMarkdown('ocr-det')).toBe('ocr-det');
    expect(escapeMarkdown('resnet50 v1.5, dynamic 1x3x224x224')).toBe('resnet50 v1.5, dynamic 1x3x224x224');
  });

  it('escapes Markdown punctuation with backslashes', () => {
    expect(escapeMarkdown('a*b_c`d~e!f$g\\h')).toBe('a\\*b\\_c\\`d\\~e\\!f\\$g\\\\h');
    expect(escapeMarkdown('[x]')).toBe('\\[x\\]');
    expect(escapeMarkdown('![img](http://e/x.png)')).toBe(`\\!\\[img\\]\\(http:${ZWSP}//e/x.png)`);
  });

  it('turns pipes, angle brackets and ampersands into entities', () => {
    expect(escapeMarkdown('a|b')).toBe('a&#124;b');
    expect(escapeMarkdown('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeMarkdown('<!-- hidden -->')).toBe('&lt;\\!-- hidden --&gt;');
    expect(escapeMarkdown('&lt; &#124;')).toBe(`&amp;lt; &amp;#${ZWSP}124;`);
  });

  it('collapses newlines, tabs and control characters to one space', () => {
    expect(escapeMarkdown('a\r\n\r\nb\tc\u0000\u001b[31md\u2028e')).toBe('a b c \\[31md e');
    expect(escapeMarkdown('line\n| --- |')).toBe('line &#124; --- &#124;');
  });

  it('stops mentions, issue references and autolinks', () => {
    expect(escapeMarkdown('@octocat @org/team')).toBe(`@${ZWSP}octocat @${ZWSP}org/team`);
    expect(escapeMarkdown('fixes #123 and owner/repo#4')).toBe(`fixes #${ZWSP}123 and owner/repo#${ZWSP}4`);
    expect(escapeMarkdown('see https://evil.example/x')).toBe(`see https:${ZWSP}//evil.example/x`);
    expect(escapeMarkdown('WWW.evil.com')).toBe(`WWW${ZWSP}.evil.com`);
    expect(escapeMarkdown('me@evil.com')).toBe(`me@${ZWSP}evil.com`);
  });

  it('escapes block markers at the start', () => {
    expect(escapeMarkdown('- item')).toBe('\\- item');
    expect(escapeMarkdown('\n+ item')).toBe(' \\+ item');
    expect(escapeMarkdown('12. item')).toBe('12\\. item');
    expect(escapeMarkdown('# title')).toBe(`#${ZWSP} title`);
    expect(escapeMarkdown('> quote')).toBe('&gt; quote');
    expect(escapeMarkdown('a - b 1. c')).toBe('a - b 1. c');
  });

  it('shows bidirectional overrides instead of obeying them', () => {
    expect(escapeMarkdown('abc\u202edef')).toBe('abc\ufffddef');
  });

  it('never yields raw pipes, tags, newlines, mentions or inline links', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const out = escapeMarkdown(text);
        expect(out).not.toMatch(/\|/);
        expect(out).not.toContain('<');
        expect(out).not.toMatch(/[\r\n\u2028\u2029]/);
        expect(out).not.toMatch(/@\w/);
        expect(out).not.toContain('](');
        expect(out).not.toMatch(/:\/\//);
        // `#` only starts our own entities (`&#8203;`, `&#124;`), never a reference.
        expect(out).not.toMatch(/(?<!&)#\w/);
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes every backslash, so no escape of ours can be cancelled', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        // Runs of backslashes in the output are always even except the one escaping the next char.
        const out = escapeMarkdown(text);
        for (const match of out.matchAll(/\\+(.?)/g)) {
          const run = match[0].length - (match[1] === '' ? 0 : 1);
          if (run % 2 === 1) expect(match[1]).toMatch(/[`*_[\]!~$\\()\-+=.]/);
        }
      }),
    );
  });
});

describe('escapeCode', () => {
  it('wraps text in a fence longer than any backtick run inside', () => {
    expect(escapeCode('logits')).toBe('`logits`');
    expect(escapeCode('a`b')).toBe('``a`b``');
    expect(escapeCode('a``b`c')).toBe('```a``b`c```');
    expect(escapeCode('`x`')).toBe('`` `x` ``');
    expect(escapeCode(' padded ')).toBe('`  padded  `');
    expect(escapeCode('   ')).toBe('`   `');
    expect(escapeCode('')).toBe('');
  });

  it('escapes pipes for table cells unless told it is not in one', () => {
    expect(escapeCode('a|b')).toBe('`a\\|b`');
    expect(escapeCode('a\\|b')).toBe('`a\\|b`');
    expect(escapeCode('a\\\\|b')).toBe('`a\\\\\\|b`');
    expect(escapeCode('a|b', { inTable: false })).toBe('`a|b`');
  });

  it('keeps one line', () => {
    expect(escapeCode('a\n\nb  c')).toBe('`a b  c`');
  });

  it('always closes with its own fence and never leaves a pipe the table splitter would see', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const out = escapeCode(text);
        if (out === '') return;
        const fence = /^`+/.exec(out)?.[0] ?? '';
        const inner = out.slice(fence.length, out.length - fence.length);
        expect(out.endsWith(fence)).toBe(true);
        // No backtick run of the fence's length inside, so the span cannot close early.
        expect(inner.match(/`+/g)?.some((run) => run.length === fence.length) ?? false).toBe(false);
        expect(out).not.toMatch(/[\r\n]/);
        // cmark-gfm pairs `\` with the next punctuation character from the left: no pipe left unpaired.
        expect(out.replace(/\\[!-/:-@[-`{-~]/g, '')).not.toContain('|');
      }),
      { numRuns: 2000 },
    );
  });
});
