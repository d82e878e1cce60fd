import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ENV_VARS, EnvSchema } from '@trainyard/config';

// docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading it:
// structure, healthchecks, and above all that every variable handed to the apps is one
// libs/config actually reads, with a value it accepts.
const root = join(__dirname, '..');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published: number | string })[];
  healthcheck?: { test: string | string[] };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  entrypoint?: string | string[];
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; count?: string | number; capabilities?: string[] }[] } } };
}

// `merge: true`: the file shares env and depends_on blocks through `<<:` merge keys, which compose
// supports and YAML 1.2 parsers leave off by default.
function loadCompose(path = join(root, 'docker-compose.yml')): Record<string, Service> {
  return (parse(readFileSync(path, 'utf8'), { merge: true }) as { services: Record<string, Service> }).services;
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Problems with an app service's environment: unknown names, values EnvSchema rejects. */
function environmentProblems(env: Record<string, string>): string[] {
  const known = new Set<string>(ENV_VARS);
  const problems = Object.keys(env)
    .filter((name) => !known.has(name))
    .map((name) => `${name} is not a Trainyard variable (known: ${ENV_VARS.join(', ')})`);
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return problems;
}

const APPS = ['api', 'worker', 'worker-gpu'];

describe('docker-compose.yml', () => {
  const services = loadCompose();

  it('defines the stack', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'minio', 'minio-init', 'postgres', 'redis', 'worker', 'worker-gpu'].sort(),
    );
  });

  it('runs Redis the way BullMQ needs it: noeviction, append-only', () => {
    const command = [services.redis.command].flat().join(' ');
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(command).toMatch(/--appendonly yes/);
  });

  it.each(['redis', 'postgres', 'minio', 'api'])('%s has a healthcheck', (name) => {
    expect(services[name].healthcheck?.test).toBeDefined();
  });

  it('starts the apps only once their dependencies are healthy and the bucket exists', () => {
    for (const name of APPS) {
      expect(services[name].depends_on).toEqual({
        redis: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
        minio: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
    }
    expect(services['minio-init'].depends_on).toEqual({ minio: { condition: 'service_healthy' } });
  });

  it('keeps the GPU worker behind the gpu profile with an NVIDIA reservation', () => {
    const gpu = services['worker-gpu'];
    expect(gpu.profiles).toEqual(['gpu']);
    expect(gpu.deploy?.resources?.reservations?.devices).toEqual([
      { driver: 'nvidia', count: 'all', capabilities: ['gpu'] },
    ]);
    expect(environmentOf(gpu).TRAINYARD_BACKEND).toBe('tensorflow-gpu');
    expect(services.worker.profiles).toBeUndefined();
  });

  it.each(APPS)('gives %s only known variables, with values EnvSchema accepts', (name) => {
    const env = environmentOf(services[name]);
    expect(Object.keys(env).length).toBeGreaterThan(0);
    expect(environmentProblems(env)).toEqual([]);
    expect(env.DATABASE_URL).toBeDefined();
    expect(env.S3_ENDPOINT).toBeDefined();
  });

  it('publishes the port the API listens on, on all interfaces', () => {
    const env = environmentOf(services.api);
    expect(env.API_HOST).toBe('0.0.0.0');
    const port = EnvSchema.parse(env).API_PORT;
    const published = (services.api.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').pop()) : p.target));
    expect(published).toContain(port);
    expect([services.api.healthcheck?.test].flat().join(' ')).toContain(`:${port}/healthz`);
  });

  it('creates the bucket the apps use, with the credentials MinIO runs with', () => {
    const env = environmentOf(services.api);
    const minio = environmentOf(services.minio);
    expect([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]).toEqual([env.S3_ACCESS_KEY, env.S3_SECRET_KEY]);
    const init = [services['minio-init'].entrypoint].flat().join(' ');
    expect(init).toContain(`mc mb --ignore-existing local/${env.S3_BUCKET}`);
    expect(init).toContain(`${env.S3_ACCESS_KEY} ${env.S3_SECRET_KEY}`);
    expect(new URL(env.S3_ENDPOINT).host).toBe('minio:9000');
  });

  it('builds from Dockerfiles that exist, with the repository as context', () => {
    for (const name of APPS) {
      const build = services[name].build;
      expect(build?.context).toBe('.');
      expect(existsSync(join(root, build!.dockerfile))).toBe(true);
    }
  });

  it('catches a misspelt variable name and a bad value', () => {
    expect(environmentProblems({ REDIS_URL: 'redis://redis:6379', S3_ENDPIONT: 'http://minio:9000' })).toEqual([
      expect.stringMatching(/^S3_ENDPIONT is not a Trainyard variable/),
    ]);
    expect(environmentProblems({ API_PORT: 'three thousand' })).toEqual([expect.stringMatching(/^API_PORT:/)]);
  });
});
