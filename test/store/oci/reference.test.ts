import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import {
  isDigest,
  parseOciTarget,
  repositoryFor,
  validateRepository,
} from '../../../src/store/oci/reference.js';

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('parseOciTarget', () => {
  it('splits registry and namespace, and speaks plain HTTP only to loopback', () => {
    expect(parseOciTarget('127.0.0.1:5000/kiln')).toEqual({
      registry: '127.0.0.1:5000',
      namespace: 'kiln',
      plainHttp: true,
      baseUrl: 'http://127.0.0.1:5000',
    });
    expect(parseOciTarget('ghcr.io/acme/models')).toEqual({
      registry: 'ghcr.io',
      namespace: 'acme/models',
      plainHttp: false,
      baseUrl: 'https://ghcr.io',
    });
    expect(parseOciTarget('localhost:5000/a/b/').namespace).toBe('a/b');
    expect(parseOciTarget('[::1]:5000/kiln').baseUrl).toBe('http://[::1]:5000');
    expect(parseOciTarget('registry.internal:5000').namespace).toBe('');
  });

  it('lets plainHttp override the default both ways', () => {
    expect(parseOciTarget('registry.lan:5000/kiln', { plainHttp: true }).baseUrl).toBe(
      'http://registry.lan:5000',
    );
    expect(parseOciTarget('127.0.0.1:5000/kiln', { plainHttp: false }).baseUrl).toBe(
      'https://127.0.0.1:5000',
    );
  });

  it('refuses targets that are not REGISTRY[:PORT]/NAMESPACE, naming the value', () => {
    expect(refusal(() => parseOciTarget('acme/models'))).toBe(
      "OCI target 'acme/models': registry 'acme' is not a host[:port], expected REGISTRY[:PORT]/NAMESPACE, e.g. ghcr.io/acme/models or 127.0.0.1:5000/kiln",
    );
    expect(refusal(() => parseOciTarget('ghcr.io:99999/x'))).toContain(
      "registry 'ghcr.io:99999' is not a host[:port]",
    );
    expect(refusal(() => parseOciTarget('https://ghcr.io/acme'))).toContain('a URL scheme is not allowed');
    expect(refusal(() => parseOciTarget('ghcr.io/Acme/models'))).toMatch(
      /^OCI target 'ghcr.io\/Acme\/models': namespace: repository 'Acme\/models' is not a valid OCI name \(component 'Acme'\), expected lowercase/,
    );
  });

  it('never echoes a password put in the target', () => {
    const message = refusal(() => parseOciTarget('bot:hunter22@ghcr.io/acme'));
    expect(message).toBe(
      "OCI target 'bot:***@ghcr.io/acme': credentials do not belong in the target, pass them as auth",
    );
    expect(refusal(() => parseOciTarget('https://bot:hunter22@ghcr.io/acme'))).not.toContain('hunter22');
  });
});

describe('repository names', () => {
  const target = parseOciTarget('ghcr.io/acme/models');

  it('puts each model in its own repository under the namespace', () => {
    expect(repositoryFor(target, 'ocr-det')).toBe('acme/models/ocr-det');
    expect(repositoryFor(parseOciTarget('127.0.0.1:5000'), 'ocr_det.v2')).toBe('ocr_det.v2');
    expect(validateRepository('a__b/c-d/e--f/g.h', 'x')).toBe('a__b/c-d/e--f/g.h');
  });

  it.each([
    ['OCR-det', 'OCR-det'],
    ['a..b', 'a..b'],
    ['-det', '-det'],
    ['det-', 'det-'],
    ['a___b', 'a___b'],
  ])('refuses model %s, naming the component and the grammar', (model, component) => {
    expect(refusal(() => repositoryFor(target, model))).toBe(
      `model '${model}' in ghcr.io: repository 'acme/models/${model}' is not a valid OCI name (component '${component}'), expected lowercase letters and digits separated by '.', '_', '__' or '-', components joined by '/'`,
    );
  });

  it('refuses names longer than a reference may be', () => {
    expect(refusal(() => validateRepository('a'.repeat(256), 'x'))).toMatch(
      /is 256 characters, expected at most 255$/,
    );
  });

  it('tells digests from tags', () => {
    expect(isDigest(`sha256:${'0'.repeat(64)}`)).toBe(true);
    expect(isDigest('v1')).toBe(false);
    expect(isDigest(`sha256:${'A'.repeat(64)}`)).toBe(false);
  });
});
