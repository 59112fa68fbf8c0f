/**
 * Credential scrubbing for every line kiln prints (error lines, cause chains, the Action's failure).
 * Registries and proxies echo request headers back in error bodies, and error messages quote URLs,
 * so the printers pass text through `redact` rather than trusting each message to be clean.
 */

/** What a secret is replaced with. */
export const MASK = '***';

/** Shorter strings would mask innocent text (a user named `ci`); a real password or token is longer. */
const MIN_SECRET_LENGTH = 4;

/** Environment variables whose values are credentials kiln or the Action may hold. */
export const SECRET_ENV = [
  'KILN_REGISTRY_PASSWORD',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'INPUT_GITHUB-TOKEN',
  'INPUT_REGISTRY-PASSWORD',
] as const;

// An Authorization header however it is echoed (`authorization=Basic …`, `"Authorization": "Bearer …"`):
// everything after the scheme is the credential.
const AUTH_HEADER = /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?[A-Za-z]+\s+)[^\s"',;&]+/gi;
// A bare `Basic dXNlcjpwYXNz` / `Bearer eyJ…`: eight characters at least holding a digit or symbol, or
// sixteen, so that `Bearer realm="…"` and `Basic authentication` stay readable.
const AUTH_VALUE =
  /\b(Basic|Bearer)\s+(?=[A-Za-z0-9._~+/-]*[0-9._~+/-]|[A-Za-z]{16})[A-Za-z0-9._~+/-]{8,}=*/g;
// `scheme://user:password@host`: the userinfo ends at the LAST `@` of the whitespace-delimited run,
// since a password may itself hold `@`, `:` or `/`.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):[^\s"'<>]*@/gi;

/**
 * The forms a credential pair is seen in: the password, `base64(user:password)` (a Basic header),
 * and the password percent-encoded (in a URL).
 */
export function credentialForms(username: string, password: string): string[] {
  const forms = [password, Buffer.from(`${username}:${password}`).toString('base64')];
  const encoded = encodeURIComponent(password);
  if (encoded !== password) forms.push(encoded);
  return forms.filter((s) => s.length >= MIN_SECRET_LENGTH);
}

/**
 * `text` with every known secret, every Basic/Bearer credential and every URL password replaced by
 * `***`. Pure: the secrets are passed in (see `Redactor` for the process-wide set).
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  const known = [...secrets].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  for (const secret of known) out = out.split(secret).join(MASK);
  out = out.replace(AUTH_HEADER, (_m, head: string) => `${head}${MASK}`);
  out = out.replace(AUTH_VALUE, (_m, scheme: string) => `${scheme} ${MASK}`);
  return out.replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
}

/** The secrets this process holds, registered once at startup (from the environment) and by commands. */
export class Redactor {
  private readonly secrets = new Set<string>();

  /** Remembers a secret value (ignored when too short to mask safely). */
  add(secret: string | undefined): void {
    if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH) this.secrets.add(secret);
  }

  /** Remembers a registry login in every form it may be printed in. */
  addCredentials(username: string, password: string): void {
    for (const form of credentialForms(username, password)) this.add(form);
  }

  /** Remembers the credentials in `env` (SECRET_ENV, and the registry login pair). */
  addFromEnv(env: NodeJS.ProcessEnv): void {
    for (const name of SECRET_ENV) this.add(env[name]);
    const password = env.KILN_REGISTRY_PASSWORD ?? env['INPUT_REGISTRY-PASSWORD'];
    const username = env.KILN_REGISTRY_USER ?? env['INPUT_REGISTRY-USERNAME'] ?? '';
    if (password) this.addCredentials(username, password);
  }

  /** Every value registered so far, for masking in other sinks (the Action's `core.setSecret`). */
  values(): string[] {
    return [...this.secrets];
  }

  /** `text` with every registered secret and credential-shaped value masked. */
  redact(text: string): string {
    return redactText(text, this.secrets);
  }
}

/** The process-wide redactor that the CLI, the agent and the Action print through. */
export const redactor = new Redactor();

/** `redactor.redact`, for printers. */
export function redact(text: string): string {
  return redactor.redact(text);
}
