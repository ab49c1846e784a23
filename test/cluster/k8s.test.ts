// deploy/k8s: an offline check of the manifests. `kubectl apply --dry-run=client` needs an API
// server for discovery even in client mode (none here), so the test parses the YAML itself and checks
// what a run depends on: an Indexed Job whose pods find NATS and each other, and agree on the node count.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DIR = fileURLToPath(new URL('../../../deploy/k8s/', import.meta.url));
const docs: Obj[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => yaml.loadAll(readFileSync(join(DIR, f), 'utf8')) as Obj[]);
const one = (kind: string, name: string): Obj => {
  const found = docs.filter((d) => d.kind === kind && d.metadata?.name === name);
  assert.equal(found.length, 1, `${kind}/${name}: expected exactly one`);
  return found[0]!;
};
const API: Record<string, string> = { Job: 'batch/v1', Deployment: 'apps/v1', Service: 'v1', PersistentVolumeClaim: 'v1' };

describe('deploy/k8s manifests', () => {
  it('every object has a known kind, its apiVersion and a DNS-1123 name', () => {
    for (const d of docs) {
      assert.ok(API[d.kind], `unexpected kind ${d.kind}`);
      assert.equal(d.apiVersion, API[d.kind], `${d.kind}/${d.metadata?.name}: apiVersion`);
      assert.match(d.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('an Indexed Job whose pods run gradpool train --resume on as many nodes as it has completions', () => {
    const job = one('Job', 'gradpool-train');
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.parallelism, job.spec.completions);
    assert.ok(job.spec.backoffLimit > 0, 'backoffLimit: failed pods must be recreated');
    const pod = job.spec.template.spec;
    assert.ok(['Never', 'OnFailure'].includes(pod.restartPolicy));
    const [c] = pod.containers as Obj[];
    assert.equal(c!.args[0], 'train');
    assert.ok(c!.args.includes('--resume'), 'a restarted pod must resume');
    const env = Object.fromEntries((c!.env as Obj[]).map((e) => [e.name, e.value]));
    assert.deepEqual(Object.keys(env).filter((k) => !['GRADPOOL_NODES', 'GRADPOOL_NATS_URL', 'GRADPOOL_RUN_ID', 'GRADPOOL_NODE_RANK', 'GRADPOOL_HEARTBEAT_TIMEOUT_MS'].includes(k)), []);
    assert.equal(Number(env.GRADPOOL_NODES), job.spec.completions);
    assert.match(env.GRADPOOL_RUN_ID, /^[A-Za-z0-9_-]{1,64}$/);
    assert.equal(env.GRADPOOL_NODE_RANK, undefined, 'the rank comes from JOB_COMPLETION_INDEX');
    // NATS: the URL names the NATS Service and its port, which reaches the NATS container's client port.
    const url = new URL(env.GRADPOOL_NATS_URL);
    const svc = one('Service', url.hostname);
    const port = (svc.spec.ports as Obj[]).find((p) => p.port === Number(url.port));
    assert.ok(port, `Service ${url.hostname} has no port ${url.port}`);
    const nats = docs.find((d) => d.kind === 'Deployment' && Object.entries(svc.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
    assert.ok(nats, 'no Deployment matches the NATS Service selector');
    assert.deepEqual(nats.spec.selector.matchLabels, nats.spec.template.metadata.labels);
    assert.ok((nats.spec.template.spec.containers[0].ports as Obj[]).some((p) => p.containerPort === port.targetPort));
    // Volumes: every mount has its volume, every claim exists.
    for (const m of c!.volumeMounts as Obj[]) {
      const v = (pod.volumes as Obj[]).find((x) => x.name === m.name);
      assert.ok(v, `volumeMount ${m.name} has no volume`);
      if (v.persistentVolumeClaim) one('PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
    }
  });

  it('a headless Service selects the Job\'s pods and is their subdomain', () => {
    const job = one('Job', 'gradpool-train');
    const svc = one('Service', job.spec.template.spec.subdomain);
    assert.equal(svc.spec.clusterIP, 'None');
    assert.deepEqual(svc.spec.selector, { 'job-name': job.metadata.name });
  });
});
