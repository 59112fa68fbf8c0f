import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runnerLabels } from '../../runner-agent/src/labels.js';
import type { HostProbe } from '../../src/backends/host/host-probe.js';
import { HOSTS } from '../agent/fixtures.js';
import { ROOT } from '../helpers/kiln-cli.js';

// examples/fleet: one gha-runner-scale-set values file per GPU product or MIG profile. Each is
// checked against the chart's published values schema and its runner pod template against the
// Kubernetes PodSpec schema (test/fixtures/k8s/README.md), and its labels against what
// `kiln-agent labels` prints for the recorded host of that GPU.
const FLEET = path.join(ROOT, 'examples', 'fleet');
const SCHEMAS = path.join(ROOT, 'test', 'fixtures', 'k8s');
const json = (name: string) => JSON.parse(readFileSync(path.join(SCHEMAS, name), 'utf8')) as object;

const chartValues = new Ajv2020({ allErrors: true, strict: false }).compile(
  json('gha-runner-scale-set.values.schema.json'),
);
const podSpec = new Ajv({ allErrors: true, strict: false }).compile(json('podspec-subset.schema.json'));

/** Which recorded host each example is for (test/agent/fixtures.ts). */
const RECORDED: Record<string, () => Promise<HostProbe>> = {
  'values-h100.yaml': HOSTS.h100,
  'values-l40s.yaml': HOSTS.l40s,
  'values-h100-mig-1g.10gb.yaml': HOSTS.h100Mig,
};

interface Container {
  name: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { limits?: Record<string, number | string> };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Values {
  scaleSetLabels: string[];
  template: {
    spec: {
      nodeSelector: Record<string, string>;
      hostPID?: boolean;
      containers: Container[];
      volumes: { name: string; hostPath?: { path: string } }[];
    };
  };
}

const files = readdirSync(FLEET).filter((f) => f.endsWith('.yaml'));
const load = (file: string) => parse(readFileSync(path.join(FLEET, file), 'utf8')) as Values;

describe('examples/fleet', () => {
  it('has one values file per recorded GPU product or MIG profile, and no other', () => {
    expect(files.sort()).toEqual(Object.keys(RECORDED).sort());
  });

  describe.each(files)('%s', (file) => {
    const values = load(file);
    const spec = values.template.spec;
    const runner = spec.containers.find((c) => c.name === 'runner')!;

    it("validates against the chart's values schema and the PodSpec schema", () => {
      expect(chartValues(values), JSON.stringify(chartValues.errors)).toBe(true);
      expect(podSpec(spec), JSON.stringify(podSpec.errors)).toBe(true);
    });

    it('labels the scale set exactly as kiln-agent labels does on the recorded host', async () => {
      expect(values.scaleSetLabels).toEqual(runnerLabels(await RECORDED[file]!()));
    });

    it('selects nodes by the recorded product name, as GPU feature discovery writes it', async () => {
      const probe = await RECORDED[file]!();
      expect(spec.nodeSelector['nvidia.com/gpu.product']).toBe(probe.gpus[0]!.name.replace(/ /g, '-'));
    });

    it('asks the device plugin for exactly one GPU or one MIG device of the profile the name says', () => {
      const limits = runner.resources?.limits ?? {};
      const devices = Object.keys(limits).filter((k) => /^nvidia\.com\/(gpu|mig-\d+g\.\d+gb)$/.test(k));
      expect(devices).toHaveLength(1);
      expect(limits[devices[0]!]).toBe(1);
      const mig = /-mig-(\d+g\.\d+gb)\.yaml$/.exec(file)?.[1];
      expect(devices[0]).toBe(mig ? `nvidia.com/mig-${mig}` : 'nvidia.com/gpu');
      expect(values.scaleSetLabels.includes('mig')).toBe(mig !== undefined);
    });

    it('puts the host cache on a node-local volume and the engine store on a registry, with no secret inline', () => {
      const env = Object.fromEntries((runner.env ?? []).map((e) => [e.name, e]));
      const cache = env['KILN_HOST_CACHE']?.value;
      const mount = runner.volumeMounts?.find((m) => m.mountPath === cache);
      expect(mount).toBeDefined();
      expect(spec.volumes.find((v) => v.name === mount!.name)?.hostPath?.path).toBeTruthy();
      expect(env['KILN_REMOTE_STORE']?.value).toMatch(/^oci:\/\/[^/@]+\/\S+$/);
      expect(env['KILN_REGISTRY_PASSWORD']).toMatchObject({
        valueFrom: { secretKeyRef: { key: 'password' } },
      });
      expect(env['KILN_REGISTRY_PASSWORD']?.value).toBeUndefined();
      expect(spec.hostPID).toBe(true);
    });
  });

  it('the PodSpec schema refuses what Kubernetes would: a misspelt field, a container without a name', () => {
    const good = load('values-h100.yaml').template.spec;
    expect(podSpec({ ...good, nodeSelecter: {} })).toBe(false);
    expect(podSpec({ ...good, containers: [{ image: 'x' }] })).toBe(false);
    expect(podSpec({ ...good, volumes: [{ name: 'c', hostPath: { path: '/x', type: 'Dir' } }] })).toBe(false);
    expect(chartValues({ listenerConfig: { scaler: { qps: 0 } } })).toBe(false);
  });
});
