/**
 * fetch with the limits a CI job needs so a stalled server cannot hang it: a read timeout (the longest
 * silence while waiting for the answer or for the next chunk of its body) and a total deadline per
 * request. The connect timeout is fetch's own (undici: 10 s), reported in the same one-line form.
 */
import { InputError, KilnError } from '../errors.js';

export interface HttpTimeouts {
  /** Longest wait for the answer's headers, or between two chunks of its body. */
  readMs: number;
  /** Longest a whole request may take, body included. */
  deadlineMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = { readMs: 60_000, deadlineMs: 30 * 60_000 };

/** An upload is silent on the server's side until it has all arrived: allow it this slow a link. */
const MIN_UPLOAD_BYTES_PER_S = 64 * 1024;
/** undici's own connect timeout (not configurable through the global fetch). */
const CONNECT_TIMEOUT_MS = 10_000;

const ENV = { readMs: 'KILN_HTTP_READ_TIMEOUT_MS', deadlineMs: 'KILN_HTTP_DEADLINE_MS' } as const;

/** The timeouts, from KILN_HTTP_READ_TIMEOUT_MS / KILN_HTTP_DEADLINE_MS where set; one line when malformed. */
export function httpTimeoutsFromEnv(env: NodeJS.ProcessEnv = process.env): HttpTimeouts {
  const out = { ...DEFAULT_TIMEOUTS };
  for (const key of ['readMs', 'deadlineMs'] as const) {
    const text = env[ENV[key]];
    if (text === undefined || text.trim() === '') continue;
    const ms = Number(text);
    if (!Number.isSafeInteger(ms) || ms < 1) {
      throw new InputError(`${ENV[key]}: found '${text}', expected a positive whole number of milliseconds`);
    }
    out[key] = ms;
  }
  return out;
}

/** A limit that fired: one line naming the host and which limit. Not worth retrying: the server stalls. */
export class HttpTimeoutError extends KilnError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

export interface TimedFetchOptions {
  timeouts: HttpTimeouts;
  /** Who is spoken to, first word of the message: `registry`, `GitHub API`. */
  peer: string;
  /** What was being done, appended to the message: `GET manifest v1`. */
  during?: string;
}

/**
 * `fetch(url, init)` under `timeouts`. A limit firing rejects the fetch, or errors the body stream,
 * with an HttpTimeoutError like `registry 127.0.0.1:5055 did not answer within 30 s (read timeout)`.
 */
export async function timedFetch(url: URL, init: RequestInit, options: TimedFetchOptions): Promise<Response> {
  const { timeouts, peer } = options;
  const abort = new AbortController();
  const during = options.during ? ` during ${options.during}` : '';
  let fired: HttpTimeoutError | undefined;
  let bodyStream: TransformStreamDefaultController<Uint8Array> | undefined;
  const fire = (limit: string, ms: number, verb: string) => {
    fired = new HttpTimeoutError(
      `${peer} ${url.host} ${verb} within ${seconds(ms)} (${limit}, ${envOf(limit)})${during}`,
    );
    bodyStream?.error(fired);
    abort.abort(fired);
  };
  // Unref'd: a timer left behind by a body nobody reads must not keep the process alive.
  const deadline = setTimeout(
    () => fire('deadline', timeouts.deadlineMs, 'did not finish'),
    timeouts.deadlineMs,
  );
  deadline.unref();
  let read: NodeJS.Timeout | undefined;
  const armRead = (ms: number) => {
    clearTimeout(read);
    read = setTimeout(() => fire('read timeout', ms, 'did not answer'), Math.min(ms, timeouts.deadlineMs));
    read.unref();
  };
  const done = () => {
    clearTimeout(deadline);
    clearTimeout(read);
  };
  armRead(timeouts.readMs + uploadAllowanceMs(init.body));
  let response: Response;
  try {
    // A caller's own signal (Octokit passes one when asked) still aborts too.
    const signal = init.signal ? AbortSignal.any([init.signal, abort.signal]) : abort.signal;
    response = await fetch(url, { ...init, signal });
  } catch (error) {
    done();
    if (fired) throw fired;
    if (causeCode(error) === 'UND_ERR_CONNECT_TIMEOUT') {
      throw new HttpTimeoutError(
        `${peer} ${url.host} did not accept a connection within ${seconds(CONNECT_TIMEOUT_MS)} (connect timeout)${during}`,
      );
    }
    throw error;
  }
  if (!response.body || [204, 205, 304].includes(response.status)) {
    done();
    return response;
  }
  armRead(timeouts.readMs);
  const watched = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start: (controller) => {
        bodyStream = controller;
      },
      transform: (chunk, controller) => {
        armRead(timeouts.readMs);
        controller.enqueue(chunk);
      },
      flush: done,
    }),
  );
  return new Response(watched, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function uploadAllowanceMs(body: RequestInit['body']): number {
  const size = body instanceof Blob ? body.size : body instanceof Uint8Array ? body.byteLength : 0;
  return Math.ceil((size / MIN_UPLOAD_BYTES_PER_S) * 1000);
}

function envOf(limit: string): string {
  return limit === 'deadline' ? ENV.deadlineMs : ENV.readMs;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}

/** fetch's `TypeError: fetch failed` carries the reason's code in `cause`. */
function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}
