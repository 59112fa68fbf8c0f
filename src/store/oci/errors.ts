import { STATUS_CODES } from 'node:http';

/** A failure worth another attempt (5xx, 429, a dropped connection): what was asked and what happened. */
export class TransientFailure extends Error {
  constructor(
    readonly what: string,
    readonly detail: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${what} ${detail}`);
  }
}

/** 5xx, 429 and 408 may pass; every other status is the registry's real answer. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** `503 Service Unavailable`. */
export function statusText(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
}

/** The distribution spec's error body (`{errors: [{code, message}]}`) as ` (CODE: message)`, else ''. */
export function errorSummary(body: string): string {
  try {
    const first = (JSON.parse(body) as { errors?: Array<{ code?: unknown; message?: unknown }> }).errors?.[0];
    if (first && typeof first.code === 'string') {
      const message = typeof first.message === 'string' ? `: ${first.message.split('\n')[0]}` : '';
      return ` (${first.code}${message.slice(0, 200)})`;
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty 5xx): the status says enough.
  }
  return '';
}

/** fetch's `TypeError: fetch failed` hides the reason in `cause`: `connect ECONNREFUSED 127.0.0.1:5000`. */
export function networkDetail(error: unknown): string {
  let current: unknown = error;
  let detail = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 4 && current instanceof Error && current.cause !== undefined; depth += 1) {
    current = current.cause;
    if (current instanceof Error && current.message) detail = current.message;
  }
  return detail.split('\n')[0] ?? detail;
}
