import path from 'node:path';
import { InputError } from '../../../src/core/errors.js';
import type { ReleaseSource } from '../release-source.js';

/** Registry credentials, as `kiln publish` takes them. */
export interface RegistryAuth {
  username: string;
  password: string;
}

/**
 * The shape of `pullRelease` in src/store/oci/release.ts: downloads `model:ref` from `target`
 * (`REGISTRY/NAMESPACE`) into `<destRoot>/<model>/<version>/` and returns that folder.
 */
export type PullReleaseFn = (options: {
  target: string;
  model: string;
  ref: string;
  destRoot: string;
  auth?: RegistryAuth;
  plainHttp?: boolean;
}) => Promise<{ dir: string; digest: string }>;

/**
 * A release source backed by an OCI registry (`kiln-agent deploy --oci REGISTRY/NAMESPACE`). The
 * pull lands in the deploy's staging folder, so the install and every hash check are the same as
 * for a local release store.
 */
export function ociReleaseSource(
  pull: PullReleaseFn,
  options: { target: string; auth?: RegistryAuth; plainHttp?: boolean },
): ReleaseSource {
  return {
    describe: (model, version) => `${options.target}/${model}:${version}`,
    async fetch(model, version, stagingDir) {
      const pulled = await pull({
        target: options.target,
        model,
        ref: version,
        destRoot: stagingDir,
        ...(options.auth ? { auth: options.auth } : {}),
        ...(options.plainHttp === undefined ? {} : { plainHttp: options.plainHttp }),
      });
      const expected = path.join(stagingDir, model, version);
      if (path.resolve(pulled.dir) !== path.resolve(expected)) {
        throw new InputError(
          `${options.target}: ${model}:${version} was pulled into ${pulled.dir}, expected ${expected}`,
        );
      }
      return pulled.dir;
    },
  };
}

/**
 * Credentials from the environment only (never flags, which `ps` shows): KILN_REGISTRY_USER and
 * KILN_REGISTRY_PASSWORD, as for `kiln publish`. Both or neither.
 */
export function registryAuthFromEnv(env: NodeJS.ProcessEnv): RegistryAuth | undefined {
  const username = env.KILN_REGISTRY_USER;
  const password = env.KILN_REGISTRY_PASSWORD;
  if (!username && !password) return undefined;
  if (!username || !password) {
    throw new InputError('KILN_REGISTRY_USER and KILN_REGISTRY_PASSWORD: set both or neither');
  }
  return { username, password };
}
