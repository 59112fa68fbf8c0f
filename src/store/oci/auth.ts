/** Registry credentials: a user and a password or personal access token (ghcr.io: a PAT). */
export interface OciAuth {
  username: string;
  password: string;
}

/** One `WWW-Authenticate` challenge: its scheme (lowercased) and its parameters. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235) into its challenges. Parameter values may be quoted
 * and hold commas (`scope="repository:a/b:pull,push"`), so a naive split on ',' would be wrong.
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  const token = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)/y;
  let at = 0;
  let current: AuthChallenge | undefined;
  while (at < header.length) {
    token.lastIndex = at;
    const name = token.exec(header);
    if (!name) {
      at += 1;
      continue;
    }
    at = token.lastIndex;
    const rest = header.slice(at);
    const eq = /^\s*=\s*/.exec(rest);
    if (eq && current) {
      at += eq[0].length;
      let value: string;
      if (header[at] === '"') {
        const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(header.slice(at));
        value = (quoted?.[1] ?? '').replace(/\\(.)/g, '$1');
        at += quoted ? quoted[0].length : header.length - at;
      } else {
        const bare = /^[^,\s]*/.exec(header.slice(at));
        value = bare?.[0] ?? '';
        at += value.length;
      }
      current.params[(name[1] ?? '').toLowerCase()] = value;
    } else {
      current = { scheme: (name[1] ?? '').toLowerCase(), params: {} };
      challenges.push(current);
    }
    const sep = /^\s*,?/.exec(header.slice(at));
    at += sep?.[0].length ?? 0;
  }
  return challenges;
}

/** `Authorization: Basic …` for `auth`. */
export function basicAuthorization(auth: OciAuth): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/**
 * The token request of the Docker/OCI Bearer flow: `GET <realm>?service=…&scope=…`, with Basic
 * credentials when we have some and anonymously otherwise (public ghcr.io packages pull anonymously).
 */
export function tokenRequest(
  challenge: AuthChallenge,
  auth: OciAuth | undefined,
): { url: string; headers: Record<string, string> } | undefined {
  const realm = challenge.params.realm;
  if (!realm || !/^https?:\/\//.test(realm)) return undefined;
  const url = new URL(realm);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  // Several scopes are space-separated in one parameter; the token endpoint wants one `scope` each.
  for (const scope of (challenge.params.scope ?? '').split(' ').filter(Boolean)) {
    url.searchParams.append('scope', scope);
  }
  return { url: url.toString(), headers: auth ? { authorization: basicAuthorization(auth) } : {} };
}

/** The token from a token endpoint's JSON answer (`token`, or OAuth2's `access_token`). */
export function tokenFromBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { token, access_token: accessToken } = body as { token?: unknown; access_token?: unknown };
  if (typeof token === 'string' && token !== '') return token;
  if (typeof accessToken === 'string' && accessToken !== '') return accessToken;
  return undefined;
}
