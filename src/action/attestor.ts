import { attestProvenance } from '@actions/attest';
import { InputError } from '../core/errors.js';

/** An in-toto subject: what is attested, by name and digest. */
export interface AttestSubject {
  name: string;
  digest: { sha256: string };
}

/** Signs build provenance for published engines: Sigstore via @actions/attest in workflows. */
export interface Attestor {
  attest(subjects: AttestSubject[]): Promise<{ attestationId?: string; url?: string }>;
}

/**
 * @actions/attest's SLSA build provenance, signed with the workflow's OIDC identity and stored
 * with GitHub's attestations API (so `gh attestation verify` finds it). Without an OIDC token the
 * job lacks `id-token: write`: say so instead of failing deep inside the signer.
 */
export function actionsAttestor(
  token: string,
  context: { owner: string; repo: string; serverUrl: string },
  env: NodeJS.ProcessEnv = process.env,
): Attestor {
  return {
    async attest(subjects) {
      if (!env.ACTIONS_ID_TOKEN_REQUEST_URL) {
        throw new InputError(
          "input 'attest': true needs the job permissions id-token: write and attestations: write (or set attest: false)",
        );
      }
      const attestation = await attestProvenance({ subjects, token });
      const id = attestation.attestationID;
      return id
        ? {
            attestationId: id,
            url: `${context.serverUrl}/${context.owner}/${context.repo}/attestations/${id}`,
          }
        : {};
    },
  };
}
