import { InputError, KilnError } from '../../core/errors.js';
import { redactor, redactText } from '../../core/redact.js';
import { backoffMs, retryAfterMs, withRetries } from '../../core/retry.js';
import { httpTimeoutsFromEnv, timedFetch, type HttpTimeouts } from '../../core/io/timed-fetch.js';
import { basicAuthorization, parseChallenges, tokenFromBody, tokenRequest } from './auth.js';
import type { AuthChallenge, OciAuth } from './auth.js';
import { TransientFailure, errorSummary, isTransientStatus, networkDetail, statusText } from './errors.js';
import type { OciTarget } from './reference.js';

export type Sleep = (ms: number) => Promise<void>;

/** How a registry is reached: where, as whom, and how hard to try. */
export interface OciHttpOptions {
  target: OciTarget;
  auth?: OciAuth;
  /** Injectable so tests do not wait through the backoff. */
  sleep?: Sleep;
  /** Attempts per operation, the first included (default 4). */
  attempts?: number;
  /** Wait before the second attempt; doubles after each (default 500 ms). */
  baseDelayMs?: number;
  /** Read timeout and deadline per request (default: from the environment, see core/timed-fetch). */
  timeouts?: HttpTimeouts;
}

export interface OciRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  /** Absolute, or a path like `/v2/…` on the registry. */
  url: string;
  headers?: Record<string, string>;
  body?: Blob | Uint8Array;
}

const MAX_RETRY_AFTER_MS = 30_000;
/** Manifests, configs, tokens: distribution itself refuses manifests over 4 MiB. */
const MAX_SMALL_BODY = 4 << 20;

/**
 * HTTP to one registry: authentication (Basic, or the Bearer token flow that ghcr.io and Docker Hub
 * use), retries with backoff for what may pass (network errors, 5xx, 429; never other 4xx), and
 * one-line errors naming the registry and repository, with credentials scrubbed from them.
 */
export class OciHttp {
  readonly target: OciTarget;
  private readonly auth: OciAuth | undefined;
  private readonly sleep: Sleep;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly timeouts: HttpTimeouts;
  /** Bearer tokens by repository: a token is scoped to the repository it was granted for. */
  private readonly tokens = new Map<string, string>();
  private useBasic = false;
  private readonly secrets = new Set<string>();

  constructor(options: OciHttpOptions) {
    this.target = options.target;
    this.auth = options.auth;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.timeouts = options.timeouts ?? httpTimeoutsFromEnv();
    if (this.auth) {
      this.remember(this.auth.password);
      this.remember(basicAuthorization(this.auth).slice('Basic '.length));
      // The printers mask it too, whatever message or cause chain it ends up in.
      redactor.addCredentials(this.auth.username, this.auth.password);
    }
  }

  /** `registry/repository`, the prefix of every message about it. */
  label(repository: string): string {
    return `${this.target.registry}/${repository}`;
  }

  /** Replaces every credential and token we hold with `***`. */
  scrub(text: string): string {
    return redactText(text, this.secrets);
  }

  /**
   * Runs `operation` (one or more requests), retrying it whole on a TransientFailure: an upload is
   * restarted from its POST, since a registry may drop the session of a failed PUT. After the last
   * attempt the failure is one line, e.g. `… PUT blob sha256:ab… answered 503 Service Unavailable 4 times`.
   */
  async retrying<T>(repository: string, operation: () => Promise<T>): Promise<T> {
    const seen: string[] = [];
    return withRetries(
      operation,
      (error, attempt) => {
        if (!(error instanceof TransientFailure)) return { retry: false, error };
        seen.push(error.message);
        if (attempt >= this.attempts) {
          const same = seen.every((message) => message === error.message);
          const tally = same ? `${attempt} times` : `(${attempt} attempts failed)`;
          const line = this.scrub(`${this.label(repository)}: ${error.message} ${tally}`);
          return { retry: false, error: new KilnError(line, { cause: error, exitCode: 2 }) };
        }
        // No jitter: a registry's Retry-After, when it names a longer wait, wins.
        const backoff = backoffMs(attempt, this.baseDelayMs, MAX_RETRY_AFTER_MS, () => 1);
        return {
          retry: true,
          waitMs: Math.min(MAX_RETRY_AFTER_MS, Math.max(backoff, error.retryAfterMs ?? 0)),
        };
      },
      this.sleep,
    );
  }

  /**
   * One request, authenticated as the registry asks. Answers with a status in `ok` are returned;
   * transient ones throw TransientFailure; anything else is a one-line KilnError naming `what`.
   */
  async call(repository: string, what: string, request: OciRequest, ok: number[]): Promise<Response> {
    const response = await this.send(repository, what, request);
    if (ok.includes(response.status)) return response;
    const body = await response.text().catch(() => '');
    const detail = `answered ${statusText(response.status)}${errorSummary(body)}`;
    if (isTransientStatus(response.status)) {
      throw new TransientFailure(what, detail, retryAfterMs(response.headers.get('retry-after'), Date.now()));
    }
    const hint =
      response.status === 401 || response.status === 403
        ? this.auth
          ? ` (as user '${this.auth.username}')`
          : ' (no credentials were given)'
        : '';
    const message = this.scrub(`${this.label(repository)}: ${what} ${detail}${hint}`);
    throw response.status === 401 || response.status === 403
      ? new InputError(message)
      : new KilnError(message, { exitCode: 2 });
  }

  /**
   * Reads a response body, at most `maxBytes` + 1 of it (so a hostile registry cannot exhaust memory;
   * the caller sees the excess), turning a connection dropped mid-body into a TransientFailure.
   */
  async bytes(response: Response, what: string, maxBytes = MAX_SMALL_BODY): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body?.getReader();
    while (reader && size <= maxBytes) {
      const next = await reader.read().catch((error: unknown) => {
        if (error instanceof KilnError) throw error; // a timeout: the registry stalls, retrying would too
        throw new TransientFailure(what, `failed while reading: ${networkDetail(error)}`);
      });
      if (next.done) break;
      chunks.push(next.value);
      size += next.value.byteLength;
    }
    if (size > maxBytes) await reader?.cancel().catch(() => undefined);
    return Buffer.concat(chunks);
  }

  private async send(repository: string, what: string, request: OciRequest): Promise<Response> {
    const url = new URL(request.url, this.target.baseUrl);
    const sameOrigin = url.origin === new URL(this.target.baseUrl).origin;
    let response = await this.fetch(
      what,
      url,
      request,
      sameOrigin ? this.authorization(repository) : undefined,
    );
    if (response.status !== 401 || !sameOrigin) return response;
    const challenges = parseChallenges(response.headers.get('www-authenticate') ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    let authorization: string | undefined;
    if (bearer) authorization = `Bearer ${await this.fetchToken(repository, what, bearer)}`;
    else if (challenges.some((c) => c.scheme === 'basic') && this.auth && !this.useBasic) {
      this.useBasic = true;
      authorization = basicAuthorization(this.auth);
    }
    if (authorization === undefined) return response;
    await response.body?.cancel();
    response = await this.fetch(what, url, request, authorization);
    return response;
  }

  private authorization(repository: string): string | undefined {
    const token = this.tokens.get(repository);
    if (token) return `Bearer ${token}`;
    return this.useBasic && this.auth ? basicAuthorization(this.auth) : undefined;
  }

  private async fetchToken(repository: string, what: string, challenge: AuthChallenge): Promise<string> {
    const request = tokenRequest(challenge, this.auth);
    if (!request) {
      throw new InputError(
        `${this.label(repository)}: ${what} asked for a Bearer token with no usable realm`,
      );
    }
    const tokenWhat = `token request to ${new URL(request.url).origin}`;
    if (this.auth && request.url.startsWith('http:') && !this.target.plainHttp) {
      // Basic credentials over plain HTTP to a realm of an HTTPS registry would leak them.
      throw new InputError(
        `${this.label(repository)}: ${tokenWhat} is plain HTTP; refusing to send credentials there`,
      );
    }
    const response = await this.fetch(
      tokenWhat,
      new URL(request.url),
      { method: 'GET', url: request.url },
      request.headers.authorization,
    );
    const body = new TextDecoder().decode(await this.bytes(response, tokenWhat));
    const detail = `answered ${statusText(response.status)}${errorSummary(body)}`;
    if (isTransientStatus(response.status)) throw new TransientFailure(tokenWhat, detail);
    let token: string | undefined;
    try {
      token = response.ok ? tokenFromBody(JSON.parse(body)) : undefined;
    } catch {
      token = undefined;
    }
    if (!token) {
      const who = this.auth ? `user '${this.auth.username}'` : 'anonymous access';
      throw new InputError(
        this.scrub(`${this.label(repository)}: ${tokenWhat} ${detail}; no token for ${who}`),
      );
    }
    this.remember(token);
    redactor.add(token);
    this.tokens.set(repository, token);
    return token;
  }

  private async fetch(
    what: string,
    url: URL,
    request: OciRequest,
    authorization?: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...request.headers };
    if (authorization) headers.authorization = authorization;
    try {
      return await timedFetch(
        url,
        { method: request.method, headers, body: request.body, redirect: 'follow' },
        { timeouts: this.timeouts, peer: 'registry', during: what },
      );
    } catch (error) {
      if (error instanceof KilnError) throw error; // a timeout: one line already, not retried
      throw new TransientFailure(what, `failed: ${networkDetail(error)}`);
    }
  }

  private remember(secret: string): void {
    // Very short strings would scrub innocent text; a real password or token is longer.
    if (secret.length >= 4) this.secrets.add(secret);
  }
}
