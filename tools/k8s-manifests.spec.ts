import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { ENV_VARS, EnvSchema } from '@trainyard/config';

// deploy/k8s cannot be applied here (no cluster, no kustomize binary), so it is checked by reading
// it: every object is validated offline against the Kubernetes OpenAPI schemas (kubernetes-models:
// types, required fields, enums; like the schemas themselves, they let unknown fields through,
// which `kubectl apply --validate=strict` would reject), and the fields an operator relies on are
// checked one by one below, which a misspelt field fails.
const root = join(__dirname, '..');
const k8s = join(root, 'deploy/k8s');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Probe {
  httpGet?: { path: string; port: string | number; httpHeaders?: { name: string; value: string }[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
  terminationGracePeriodSeconds?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: { key: string; operator: string; effect?: string }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
type Workload = K8sObject & {
  spec: { template: { metadata?: { annotations?: Record<string, string> }; spec: PodSpec } };
};
interface Kustomization {
  namespace: string;
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

function documents(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as K8sObject);
}
function kustomization(dir: string): Kustomization {
  return parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
}
/** What `kubectl apply -k dir` would send (kustomize's namespace and image transforms aside). */
function build(dir: string): K8sObject[] {
  return kustomization(dir).resources.flatMap((resource) => documents(join(dir, resource)));
}

// kubernetes-models is ESM-only; Jest's CommonJS sandbox cannot load it, Node's own require can
// (require(esm), Node >= 20.19). Its package exports offer only `import`, hence the file paths.
const nativeRequire = (
  Object.getPrototypeOf(jest.requireActual('node:module')) as typeof import('node:module')
).createRequire(__filename);
function validate(object: K8sObject): void {
  const file = join(root, 'node_modules/kubernetes-models', object.apiVersion, `${object.kind}.js`);
  const Model = (nativeRequire(file) as Record<string, new (data: unknown) => { validate(): void }>)[object.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

const app = build(k8s);
const migrate = build(join(k8s, 'migrate'));
const secrets = documents(join(k8s, 'secret.example.yaml'));
const byName = <T extends K8sObject>(kind: string, name: string, objects = app): T => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found as T;
};
const config = byName<K8sObject & { data: Record<string, string> }>('ConfigMap', 'trainyard-config').data;
const secretData = Object.fromEntries(
  secrets.map((s) => [s.metadata.name, (s as K8sObject & { stringData: Record<string, string> }).stringData]),
);
const api = byName<Workload>('Deployment', 'trainyard-api');
const cpu = byName<Workload>('Deployment', 'trainyard-worker-cpu');
const gpu = byName<Workload>('Deployment', 'trainyard-worker-gpu');
const job = byName<Workload>('Job', 'trainyard-migrate', migrate);
const container = (w: Workload) => w.spec.template.spec.containers[0]!;
/** Variables that are not Trainyard's but that the images' native code reads (CUDA), allowed by name. */
const FOREIGN_VARS = ['CUDA_CACHE_PATH', 'CUDA_CACHE_MAXSIZE'];

/** The environment a container starts with: its envFrom ConfigMap and Secrets, then its env. */
function environmentOf(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef)
      Object.assign(
        env,
        byName<K8sObject & { data: Record<string, string> }>('ConfigMap', from.configMapRef.name).data,
      );
    if (from.secretRef) Object.assign(env, secretData[from.secretRef.name] ?? {});
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    env[e.name] = ref ? (secretData[ref.name]?.[ref.key] ?? '(missing)') : (e.value ?? '');
  }
  return env;
}

describe('deploy/k8s', () => {
  it('lists every manifest in its kustomization, and only the example Secret stays out', () => {
    const files = readdirSync(k8s).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization(k8s).resources, 'secret.example.yaml'].sort()).toEqual(files.sort());
    expect(kustomization(join(k8s, 'migrate')).resources).toEqual(['job.yaml']);
    expect(kustomization(join(k8s, 'migrate')).namespace).toBe(kustomization(k8s).namespace);
  });

  it.each([...app, ...migrate, ...secrets].map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
    '%s is valid against the Kubernetes schema',
    (_name, object) => {
      expect(() => validate(object)).not.toThrow();
    },
  );

  it('the offline validation does catch a broken object', () => {
    const broken = structuredClone(cpu) as unknown as { spec: Record<string, unknown> };
    delete broken.spec['selector'];
    expect(() => validate(broken as unknown as K8sObject)).toThrow(/selector/);
    const badLimit = structuredClone(gpu);
    (container(badLimit).resources!.limits as Record<string, unknown>)['nvidia.com/gpu'] = { one: 1 };
    expect(() => validate(badLimit)).toThrow();
  });

  it('pins every image through the kustomization, never `latest`', () => {
    const images = new Map(kustomization(k8s).images!.map((i) => [i.name, i.newTag]));
    for (const w of [api, cpu, gpu]) {
      const tag = images.get(container(w).image);
      expect(tag).toMatch(/^\d+\.\d+\.\d+$/);
    }
    expect(kustomization(join(k8s, 'migrate')).images).toEqual([
      { name: container(job).image, newTag: images.get(container(job).image) },
    ]);
  });

  it('splits config from secrets: no secret in the ConfigMap, the admin key only in the API', () => {
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'TRAINYARD_ADMIN_KEY']) {
      expect(Object.keys(config)).not.toContain(name);
    }
    expect(app.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(secrets.map((s) => s.metadata.name).sort()).toEqual(['trainyard-admin-key', 'trainyard-secrets']);
    expect(environmentOf(container(api)).TRAINYARD_ADMIN_KEY).toBe(
      secretData['trainyard-admin-key']!['TRAINYARD_ADMIN_KEY'],
    );
    for (const w of [cpu, gpu, job]) expect(environmentOf(container(w)).TRAINYARD_ADMIN_KEY).toBeUndefined();
  });

  it.each([
    ['api', api],
    ['worker-cpu', cpu],
    ['worker-gpu', gpu],
  ] as const)('logs %s in to Redis with a password, from the Secret, never a plain value', (_name, w) => {
    const c = container(w);
    expect(c.env?.map((e) => e.name)).not.toContain('REDIS_URL');
    const env = environmentOf(c);
    // Without it, EnvSchema's default (an open Redis on 127.0.0.1) would be used.
    expect(env.REDIS_URL).toBe(secretData['trainyard-secrets']!['REDIS_URL']);
    expect(new URL(EnvSchema.parse(env).REDIS_URL).password).not.toBe('');
  });

  it.each([
    ['api', api],
    ['worker-cpu', cpu],
    ['worker-gpu', gpu],
    ['migrate', job],
  ] as const)('gives %s only known variables, with values EnvSchema accepts', (_name, w) => {
    const env = environmentOf(container(w));
    const known = new Set<string>([...ENV_VARS, ...(w === gpu ? FOREIGN_VARS : [])]);
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
    const parsed = EnvSchema.safeParse(env);
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
    expect(EnvSchema.parse(env).MIGRATE_ON_START).toBe(false);
  });

  it('documents a first install that creates what the migrate Job reads before the Job runs', () => {
    // docs/operations.md, "First install": the Job needs the ConfigMap and Secret that the main
    // kustomization (or the operator) creates, so they must come first there.
    const guide = readFileSync(join(root, 'docs/operations.md'), 'utf8');
    const section = guide.slice(guide.indexOf('## First install'), guide.indexOf('## Upgrade'));
    const commands = [...section.matchAll(/^kubectl .+$/gm)].map((m) => m[0].replace(/\s+#.*$/, ''));
    const migrateAt = commands.indexOf('kubectl apply -k deploy/k8s/migrate');
    expect(migrateAt).toBeGreaterThan(0);
    const appliedBefore = commands
      .slice(0, migrateAt)
      .flatMap((c) => [...c.matchAll(/-f (\S+)/g)].map((m) => m[1]!))
      .flatMap((file) => documents(join(root, file === 'my-secrets.yaml' ? 'deploy/k8s/secret.example.yaml' : file)))
      .map((o) => `${o.kind} ${o.metadata.name}`);
    expect(appliedBefore).toContain(`Namespace ${kustomization(k8s).namespace}`);
    for (const from of container(job).envFrom ?? []) {
      if (from.configMapRef) expect(appliedBefore).toContain(`ConfigMap ${from.configMapRef.name}`);
      if (from.secretRef) expect(appliedBefore).toContain(`Secret ${from.secretRef.name}`);
    }
    expect(commands.at(-1)).toBe('kubectl apply -k deploy/k8s');
  });

  it('runs the migration as a Job with the API image and the migrate command', () => {
    expect(container(job).image).toBe(container(api).image);
    expect(container(job).command).toEqual(['node', 'dist/apps/cli/src/migrate.js']);
    expect((job.spec.template.spec as PodSpec & { restartPolicy?: string }).restartPolicy).toBe('Never');
  });

  it('makes the API ready on /readyz, reached with a Host it accepts, behind a Service it answers to', () => {
    const c = container(api);
    const env = EnvSchema.parse(environmentOf(c));
    expect(env.API_HOST).toBe('0.0.0.0');
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.ports?.find((p) => p.name === c.readinessProbe?.httpGet?.port)?.containerPort).toBe(env.API_PORT);
    const host = c.readinessProbe?.httpGet?.httpHeaders?.find((h) => h.name === 'Host')?.value;
    expect(env.API_ALLOWED_HOSTS).toContain(host);
    const service = byName('Service', 'trainyard-api');
    expect(env.API_ALLOWED_HOSTS).toEqual(
      expect.arrayContaining([service.metadata.name, `${service.metadata.name}.${kustomization(k8s).namespace}.svc`]),
    );
  });

  it.each([
    ['worker-cpu', cpu],
    ['worker-gpu', gpu],
  ] as const)(
    'lets %s checkpoint before it is killed: preStop drain, grace longer than the shutdown timeout; ready on /readyz',
    (_name, w) => {
      const pod = w.spec.template.spec;
      const c = container(w);
      const env = EnvSchema.parse(environmentOf(c));
      // Margin for the batch in flight and the upload after WORKER_SHUTDOWN_TIMEOUT_MS's bound.
      expect(pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(env.WORKER_SHUTDOWN_TIMEOUT_MS + 30_000);
      expect(c.lifecycle?.preStop?.exec?.command.join(' ')).toMatch(/kill -TERM 1; while kill -0 1/);
      expect(c.ports?.find((p) => p.name === 'metrics')?.containerPort).toBe(env.WORKER_METRICS_PORT);
      expect(env.WORKER_METRICS_HOST).toBe('0.0.0.0');
      expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
      // Ready only while consuming (WorkerHost.readiness: not starting, drained or stopping).
      expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
      expect(w.spec.template.metadata).toMatchObject({
        annotations: { 'prometheus.io/port': String(env.WORKER_METRICS_PORT) },
      });
    },
  );

  it.each([
    ['api', api],
    ['worker-cpu', cpu],
    ['worker-gpu', gpu],
  ] as const)('runs %s as the image user with a writable TRAINYARD_HOME on a read-only root', (_name, w) => {
    const c = container(w);
    expect(w.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(c.volumeMounts?.map((m) => m.mountPath)).toContain(EnvSchema.parse(environmentOf(c)).TRAINYARD_HOME);
    expect(c).toMatchObject({ securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false } });
  });

  it('puts GPU workers on GPU nodes only, one GPU each, with the GPU backend', () => {
    const pod = gpu.spec.template.spec;
    expect(container(gpu).resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(pod.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(EnvSchema.parse(environmentOf(container(gpu))).TRAINYARD_BACKEND).toBe('tensorflow-gpu');
    // Unset: one training per GPU the worker finds, i.e. one with the single GPU above (and as
    // many as GPUs, should that limit be raised).
    expect(EnvSchema.parse(environmentOf(container(gpu))).WORKER_CONCURRENCY).toBeUndefined();
    expect(container(cpu).resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(cpu.spec.template.spec.tolerations).toBeUndefined();
  });

  it('pins GPU workers to gpu work, so one whose device probe failed refuses to start instead of pulling cpu jobs', () => {
    expect(EnvSchema.parse(environmentOf(container(gpu))).WORKER_RESOURCE_CLASSES).toEqual(['gpu', 'any']);
    expect(EnvSchema.parse(environmentOf(container(cpu))).WORKER_RESOURCE_CLASSES).toBeUndefined();
  });

  it("keeps CUDA's JIT cache on a writable volume of the GPU pod, not on its read-only root", () => {
    const c = container(gpu);
    const env = environmentOf(c);
    const mount = c.volumeMounts?.find((m) => env.CUDA_CACHE_PATH?.startsWith(`${m.mountPath}/`));
    expect(mount).toBeDefined();
    // An emptyDir of the pod: it outlives container restarts, so a kernel is compiled once per pod.
    expect(gpu.spec.template.spec.volumes?.find((v) => v.name === mount!.name)?.emptyDir).toBeDefined();
    expect(Number(env.CUDA_CACHE_MAXSIZE)).toBeGreaterThan(256 * 2 ** 20);
    expect(Number(env.CUDA_CACHE_MAXSIZE)).toBeLessThanOrEqual(2 ** 32);
  });

  it('lets a GPU worker take its slow first CUDA context without liveness killing it', () => {
    const c = container(gpu);
    const env = EnvSchema.parse(environmentOf(c));
    expect(c.startupProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    const window = (p: Probe) => (p.initialDelaySeconds ?? 0) + (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3);
    // Longer than the worker's own device probe may take (it is killed after
    // WORKER_CHILD_HEARTBEAT_TIMEOUT_MS), with room for the start script's device listing before it.
    expect(window(c.startupProbe!) * 1000).toBeGreaterThanOrEqual(2 * env.WORKER_CHILD_HEARTBEAT_TIMEOUT_MS);
    expect(window(c.startupProbe!)).toBeGreaterThan(window(c.livenessProbe!));
  });
});
