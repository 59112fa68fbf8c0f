import { InputError } from '../../core/errors.js';

/** Where releases are pushed: one registry, a namespace in it, and how to reach it. */
export interface OciTarget {
  /** `host[:port]` as written, e.g. `ghcr.io` or `127.0.0.1:5000` or `[::1]:5000`. */
  registry: string;
  /** Path under the registry that every model repository lives in; may be empty. */
  namespace: string;
  /** True when the registry is spoken to over plain HTTP (loopback by default), else HTTPS. */
  plainHttp: boolean;
  /** `http(s)://host[:port]`, without a trailing slash. */
  baseUrl: string;
}

// The OCI distribution spec's repository-name grammar: lowercase components joined by '/'.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$/;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
/** The spec caps a full reference at 255 characters; keep repositories well inside it. */
const MAX_REPOSITORY = 255;

/**
 * Parses `REGISTRY[:PORT][/NAMESPACE]` (`127.0.0.1:5000/kiln`, `ghcr.io/acme/models`). Loopback
 * registries are spoken to over plain HTTP, all others over HTTPS, unless `plainHttp` says otherwise.
 * Credentials never go in the target (they would end up in logs): they are refused, masked.
 */
export function parseOciTarget(text: string, options: { plainHttp?: boolean } = {}): OciTarget {
  const expected = 'expected REGISTRY[:PORT]/NAMESPACE, e.g. ghcr.io/acme/models or 127.0.0.1:5000/kiln';
  const trimmed = text.trim().replace(/\/+$/, '');
  if (trimmed.includes('://')) {
    throw new InputError(
      `OCI target '${maskCredentials(trimmed)}': a URL scheme is not allowed, ${expected} (plain HTTP is an option)`,
    );
  }
  const slash = trimmed.indexOf('/');
  const registry = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const namespace = slash === -1 ? '' : trimmed.slice(slash + 1);
  // Anywhere, not only before the first '/': a password may hold '/' (and no valid target holds '@').
  if (trimmed.includes('@')) {
    throw new InputError(
      `OCI target '${maskCredentials(trimmed)}': credentials do not belong in the target, pass them as auth`,
    );
  }
  const { host, port } = splitHostPort(registry);
  // Like docker, the first component is a registry only if it looks like one; there is no default registry.
  const looksLikeHost = host === 'localhost' || host.includes('.') || IPV6.test(host) || port !== undefined;
  if (!looksLikeHost || !(HOSTNAME.test(host) || IPV6.test(host)) || !validPort(port)) {
    throw new InputError(`OCI target '${trimmed}': registry '${registry}' is not a host[:port], ${expected}`);
  }
  if (namespace !== '') validateRepository(namespace, `OCI target '${trimmed}': namespace`);
  const plainHttp = options.plainHttp ?? LOOPBACK.has(host.toLowerCase());
  return {
    registry,
    namespace,
    plainHttp,
    baseUrl: `${plainHttp ? 'http' : 'https'}://${registry}`,
  };
}

/** The repository holding a model's versions: `<namespace>/<model>`, checked against the OCI grammar. */
export function repositoryFor(target: OciTarget, model: string): string {
  const repository = target.namespace === '' ? model : `${target.namespace}/${model}`;
  validateRepository(repository, `model '${model}' in ${target.registry}`);
  return repository;
}

/** Checks an OCI repository name, with one line naming `where`, the value and the grammar when it is not one. */
export function validateRepository(name: string, where: string): string {
  const bad = name.split('/').find((component) => !COMPONENT.test(component));
  if (bad !== undefined) {
    throw new InputError(
      `${where}: repository '${name}' is not a valid OCI name (component '${bad}'), expected lowercase letters and digits separated by '.', '_', '__' or '-', components joined by '/'`,
    );
  }
  if (name.length > MAX_REPOSITORY) {
    throw new InputError(
      `${where}: repository '${name.slice(0, 40)}…' is ${name.length} characters, expected at most ${MAX_REPOSITORY}`,
    );
  }
  return name;
}

/** True for a content reference (`sha256:<64 hex>`) rather than a tag. */
export function isDigest(ref: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(ref);
}

/** A digest shortened for one-line messages: `sha256:abcdef012345…`. */
export function shortDigest(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}

function splitHostPort(registry: string): { host: string; port?: string } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(registry);
  if (!match) return { host: registry };
  return match[2] === undefined ? { host: match[1] ?? '' } : { host: match[1] ?? '', port: match[2] };
}

function validPort(port: string | undefined): boolean {
  if (port === undefined) return true;
  return /^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) < 65536;
}

/**
 * `user:secret@host/x` → `user:***@host/x`, so a mistyped target never prints a password. The
 * userinfo ends at the LAST `@` (a password may hold `@`, `:` or `/`; a registry or namespace cannot).
 */
export function maskCredentials(text: string): string {
  const at = text.lastIndexOf('@');
  if (at === -1) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
  const userinfo = text.slice(scheme.length, at);
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? '' : userinfo.slice(0, colon);
  return `${scheme}${colon === -1 ? '' : `${user}:`}***${text.slice(at)}`;
}
