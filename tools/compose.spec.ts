import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  stop_grace_period?: string;
  deploy?: {
    resources?: {
      reservations?: { devices?: { driver?: string; count?: string | number; capabilities?: string[] }[] };
    };
  };
}

// `merge: true`: the file shares env and depends_on blocks through `<<:` merge keys, which compose
// supports and YAML 1.2 parsers leave off by default.
function loadCompose(path = join(root, 'docker-compose.yml'), env = DOT_ENV): Record<string, Service> {
  return (parse(interpolate(readFileSync(path, 'utf8'), env), { merge: true }) as { services: Record<string, Service> })
    .services;
}

/** What a user's .env holds after `cp docker/compose.env.example .env` and setting the secrets. */
const DOT_ENV: Record<string, string> = {
  ...Object.fromEntries(
    readFileSync(join(root, 'docker/compose.env.example'), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  ),
  TRAINYARD_ADMIN_KEY: 'k'.repeat(40),
  MINIO_ROOT_PASSWORD: 'a-test-password',
  POSTGRES_PASSWORD: 'a-postgres-password',
  REDIS_PASSWORD: 'a-redis-password',
};
const SECRETS = ['TRAINYARD_ADMIN_KEY', 'MINIO_ROOT_PASSWORD', 'POSTGRES_PASSWORD', 'REDIS_PASSWORD'];

/** Variables that are not Trainyard's but that the images' native code reads, allowed by name. */
const FOREIGN_VARS: Record<string, string[]> = {
  'worker-gpu': ['CUDA_CACHE_PATH', 'CUDA_CACHE_MAXSIZE'],
};

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$`, as `docker compose config` applies them. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}/g,
    (match, name: string | undefined, op?: string, arg?: string) => {
      if (match === '$$') return '$';
      const value = env[name!];
      if (value) return value;
      if (op === ':?') throw new Error(`required variable ${name} is not set: ${arg}`);
      return op === ':-' ? (arg ?? '') : '';
    },
  );
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Problems with an app service's environment: unknown names, values EnvSchema rejects. */
function environmentProblems(env: Record<string, string>, foreign: string[] = []): string[] {
  const known = new Set<string>([...ENV_VARS, ...foreign]);
  const problems = Object.keys(env)
    .filter((name) => !known.has(name))
    .map((name) => `${name} is not a Trainyard variable (known: ${ENV_VARS.join(', ')})`);
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return problems;
}

/** A stand-in for an image's program: records its arguments and stdin in $STUB_OUT. */
const RECORD_ARGS_AND_STDIN = `#!/bin/sh
printf '%s\\n' "$@" > "$STUB_OUT/argv"
cat > "$STUB_OUT/stdin"
`;

/** redis-cli as 7.x behaves: PONG with the right REDISCLI_AUTH, else NOAUTH, exit status 0 either way. */
function fakeRedisCli(serverPassword: string): string {
  return `#!/bin/sh
if [ "$1" = ping ] && [ "$REDISCLI_AUTH" = '${serverPassword}' ]; then echo PONG; else echo 'NOAUTH Authentication required.'; fi
`;
}

/**
 * Runs a service's shell command as the container would, minus the container: the image's programs
 * are stubs, and PATH holds only them and the named `tools` (so nothing real, a redis-server say,
 * can start by mistake).
 */
function runWithStubs(
  command: string | string[] | undefined,
  stubs: Record<string, string>,
  env: Record<string, string>,
  tools: string[] = [],
): { status: number | null; stderr: string; recorded: { argv?: string[]; stdin?: string } } {
  const argv = [command].flat() as string[];
  const dir = mkdtempSync(join(tmpdir(), 'compose-stub-'));
  try {
    for (const [name, script] of Object.entries(stubs)) {
      writeFileSync(join(dir, name), script);
      chmodSync(join(dir, name), 0o755);
    }
    for (const tool of tools) {
      const at = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((path) => existsSync(path));
      if (!at) throw new Error(`${tool} is not installed here`);
      symlinkSync(at, join(dir, tool));
    }
    const run = spawnSync(argv[0]!, argv.slice(1), {
      env: { PATH: dir, STUB_OUT: dir, ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
    const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : undefined);
    return {
      status: run.status,
      stderr: run.stderr,
      recorded: { argv: read('argv')?.split('\n').slice(0, -1), stdin: read('stdin') },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const APPS = ['api', 'worker', 'worker-gpu'];
const WORKERS = ['worker', 'worker-gpu'];
const DOCKERFILES = ['docker/api.Dockerfile', 'docker/worker.Dockerfile', 'docker/worker-gpu.Dockerfile'];
const dockerfile = (path: string) => readFileSync(join(root, path), 'utf8');
/** A Dockerfile's RUN instructions, continuation lines joined. */
const runLines = (text: string) =>
  text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => /^RUN /.test(line));

function publishedPorts(service: Service): string[] {
  return (service.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
}

describe('docker-compose.yml', () => {
  const services = loadCompose();

  it('defines the stack', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'migrate', 'minio', 'minio-init', 'postgres', 'redis', 'worker', 'worker-gpu'].sort(),
    );
  });

  it('refuses to start without the secrets, instead of falling back to known credentials', () => {
    for (const name of SECRETS) {
      expect(() => loadCompose(undefined, { ...DOT_ENV, [name]: '' })).toThrow(
        new RegExp(`required variable ${name} is not set: set ${name}`),
      );
    }
    expect(readFileSync(join(root, 'docker-compose.yml'), 'utf8')).not.toMatch(/minioadmin/);
    // The example .env leaves every secret for the user to set: a copied file starts nothing.
    const example = readFileSync(join(root, 'docker/compose.env.example'), 'utf8');
    for (const name of SECRETS) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
    // Every service that logs in to PostgreSQL does so with the password it was created with.
    for (const name of [...APPS, 'migrate'])
      expect(new URL(environmentOf(services[name]).DATABASE_URL!).password).toBe(DOT_ENV.POSTGRES_PASSWORD);
    expect(environmentOf(services.postgres).POSTGRES_PASSWORD).toBe(DOT_ENV.POSTGRES_PASSWORD);
  });

  it('pins every image to a release, MinIO from its own registry', () => {
    const images = Object.values(services).flatMap((s) => (s.image ? [s.image] : []));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const tag = image.slice(image.lastIndexOf(':') + 1);
      expect(image).toContain(':');
      expect(tag).not.toBe('latest');
      // `redis:7` floats; `redis:7.4.2`, `postgres:16.6` and MinIO's `RELEASE.<date>` do not.
      expect(tag).toMatch(/^(\d+\.\d+(\.\d+)?|RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)$/);
    }
    expect(services.minio.image).toMatch(/^quay\.io\/minio\/minio:RELEASE\./);
    expect(services['minio-init'].image).toBe(services.minio.image);
  });

  it('publishes ports on loopback only: Redis and PostgreSQL where the README says, nothing on all interfaces', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of publishedPorts(service))
        expect(`${name} ${port}`).toMatch(new RegExp(`^${name} 127\\.0\\.0\\.1:\\d+:\\d+$`));
    }
    expect(publishedPorts(services.redis)).toEqual(['127.0.0.1:6379:6379']);
    expect(publishedPorts(services.postgres)).toEqual(['127.0.0.1:5432:5432']);
    for (const name of WORKERS) expect(services[name].ports).toBeUndefined();
  });

  it('runs Redis the way BullMQ needs it: noeviction, append-only', () => {
    const command = [services.redis.command].flat().join(' ');
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(command).toMatch(/--appendonly yes/);
  });

  describe('Redis password', () => {
    const redis = services.redis;
    const password = DOT_ENV.REDIS_PASSWORD!;

    it('is given to Redis and to every app in its REDIS_URL', () => {
      expect(environmentOf(redis).REDIS_PASSWORD).toBe(password);
      for (const name of APPS) {
        const url = new URL(EnvSchema.parse(environmentOf(services[name])).REDIS_URL);
        expect([name, url.host, url.username, decodeURIComponent(url.password)]).toEqual([
          name,
          'redis:6379',
          '',
          password,
        ]);
      }
    });

    it('starts redis-server with requirepass on its stdin, never in its arguments, through the image entrypoint', () => {
      // The password comes from the container's environment when it starts: the command holds none.
      expect([redis.command].flat().slice(0, 2)).toEqual(['/bin/sh', '-c']);
      expect([redis.command].flat().join(' ')).not.toContain(password);
      const started = runWithStubs(
        redis.command,
        { 'docker-entrypoint.sh': RECORD_ARGS_AND_STDIN },
        { REDIS_PASSWORD: password },
        ['cat'],
      );
      expect(started.status).toBe(0);
      expect(started.recorded.argv).toEqual([
        'redis-server',
        '-',
        '--maxmemory-policy',
        'noeviction',
        '--appendonly',
        'yes',
      ]);
      expect(started.recorded.stdin).toBe(`requirepass ${password}\n`);
    });

    it('refuses a password REDIS_URL would need to encode, before starting Redis', () => {
      for (const bad of ['p@ss', 'with space', 'a/b', '100%', 'x#y', 'q"uote']) {
        const started = runWithStubs(
          redis.command,
          { 'docker-entrypoint.sh': RECORD_ARGS_AND_STDIN },
          { REDIS_PASSWORD: bad },
          ['cat'],
        );
        expect([bad, started.status === 0, started.recorded.argv]).toEqual([bad, false, undefined]);
        expect(started.stderr).toMatch(/REDIS_PASSWORD: use only letters, digits/);
      }
    });

    it('is healthy only on a PONG to an authenticated ping (redis-cli exits 0 on NOAUTH)', () => {
      const test = [redis.healthcheck?.test].flat() as string[];
      expect(test[0]).toBe('CMD-SHELL');
      expect(test.join(' ')).not.toContain(password);
      const probe = (serverPassword: string) =>
        runWithStubs(
          ['/bin/sh', '-c', test[1]!],
          { 'redis-cli': fakeRedisCli(serverPassword) },
          { REDIS_PASSWORD: password },
          ['grep'],
        ).status;
      expect(probe(password)).toBe(0);
      expect(probe('another-password')).not.toBe(0);
    });
  });

  it.each(['redis', 'postgres', 'minio', 'api', 'worker', 'worker-gpu'])('%s has a healthcheck', (name) => {
    expect(services[name].healthcheck?.test).toBeDefined();
  });

  it('migrates once, in a one-shot service the apps wait for; the apps only check the schema', () => {
    const migrate = services.migrate;
    expect([migrate.command].flat()).toEqual(['node', 'dist/apps/cli/src/migrate.js']);
    expect(existsSync(join(root, 'apps/cli/src/migrate.ts'))).toBe(true);
    expect(migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(environmentProblems(environmentOf(migrate))).toEqual([]);
    expect(environmentOf(migrate).DATABASE_URL).toBe(environmentOf(services.api).DATABASE_URL);
    for (const name of APPS) {
      expect(services[name].depends_on).toEqual({
        redis: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
        minio: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
        migrate: { condition: 'service_completed_successfully' },
      });
      expect(EnvSchema.parse(environmentOf(services[name])).MIGRATE_ON_START).toBe(false);
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

  it('trains one job per GPU on the GPU worker, gpu work only, with a CUDA cache on its volume', () => {
    const gpu = services['worker-gpu'] as Service & { volumes?: string[] };
    const env = EnvSchema.parse(environmentOf(gpu));
    // `count: all` GPUs: a WORKER_CONCURRENCY (say "1" from a shared block) would leave all but one idle;
    // unset, the worker runs one training per GPU it finds (WorkerDevices.concurrency).
    expect(env.WORKER_CONCURRENCY).toBeUndefined();
    // Pinned, so a worker whose device probe fails refuses to start rather than serve cpu,any.
    expect(env.WORKER_RESOURCE_CLASSES).toEqual(['gpu', 'any']);
    const cache = environmentOf(gpu).CUDA_CACHE_PATH;
    expect(cache?.startsWith(`${env.TRAINYARD_HOME}/`)).toBe(true);
    expect(gpu.volumes).toContainEqual(expect.stringMatching(new RegExp(`:${env.TRAINYARD_HOME}$`)));
    expect(Number(environmentOf(gpu).CUDA_CACHE_MAXSIZE)).toBeGreaterThan(256 * 2 ** 20);
    // The CPU worker serves what its devices allow: cpu and any.
    expect(EnvSchema.parse(environmentOf(services.worker)).WORKER_RESOURCE_CLASSES).toBeUndefined();
  });

  it.each(APPS)('gives %s only known variables, with values EnvSchema accepts', (name) => {
    const env = environmentOf(services[name]);
    expect(Object.keys(env).length).toBeGreaterThan(0);
    expect(environmentProblems(env, FOREIGN_VARS[name])).toEqual([]);
    expect(env.DATABASE_URL).toBeDefined();
    expect(env.S3_ENDPOINT).toBeDefined();
  });

  it('lets the API listen inside its container, publishes it on loopback, and names the hosts it answers to', () => {
    const env = EnvSchema.parse(environmentOf(services.api));
    expect(env.API_HOST).toBe('0.0.0.0');
    expect(publishedPorts(services.api)).toEqual([`127.0.0.1:${env.API_PORT}:${env.API_PORT}`]);
    expect(env.API_ALLOWED_HOSTS).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', 'api']));
    expect(env.TRAINYARD_ADMIN_KEY).toBe(DOT_ENV.TRAINYARD_ADMIN_KEY);
    expect([services.api.healthcheck?.test].flat().join(' ')).toContain(`:${env.API_PORT}/healthz`);
  });

  it.each(WORKERS)(
    'gives %s a writable TRAINYARD_HOME volume and its own metrics port, probed by its healthcheck',
    (name) => {
      const env = EnvSchema.parse(environmentOf(services[name]));
      const service = services[name] as Service & { volumes?: string[] };
      expect(service.volumes).toEqual([expect.stringMatching(new RegExp(`^[a-z-]+:${env.TRAINYARD_HOME}$`))]);
      expect(env.WORKER_METRICS_PORT).toBe(9464);
      expect(env.WORKER_METRICS_HOST).toBe('0.0.0.0');
      expect([service.healthcheck?.test].flat().join(' ')).toContain(`:${env.WORKER_METRICS_PORT}/healthz`);
    },
  );

  it.each(WORKERS)(
    'gives %s longer to stop than WORKER_SHUTDOWN_TIMEOUT_MS, so SIGTERM checkpoints before SIGKILL',
    (name) => {
      const env = EnvSchema.parse(environmentOf(services[name]));
      const grace = services[name].stop_grace_period;
      expect(grace).toMatch(/^(\d+(h|m|s|ms))+$/);
      // Compose's duration: 1m30s, 45s, …
      const graceMs = [...grace!.matchAll(/(\d+)(h|ms|m|s)/g)].reduce(
        (sum, [, n, unit]) =>
          sum + Number(n) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[unit as 'h' | 'm' | 's' | 'ms'],
        0,
      );
      // A margin for the batch in flight and the checkpoint's upload past the timeout's bound.
      expect(graceMs).toBeGreaterThanOrEqual(env.WORKER_SHUTDOWN_TIMEOUT_MS + 10_000);
    },
  );

  it('creates the bucket the apps use, with the credentials MinIO runs with', () => {
    const env = environmentOf(services.api);
    const minio = environmentOf(services.minio);
    expect([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]).toEqual([env.S3_ACCESS_KEY, env.S3_SECRET_KEY]);
    expect(environmentOf(services['minio-init'])).toEqual(minio);
    const init = [services['minio-init'].entrypoint].flat().join(' ');
    expect(init).toContain(`mc mb --ignore-existing trainyard/${env.S3_BUCKET}`);
    expect(init).toContain('"$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"');
    expect(new URL(env.S3_ENDPOINT).host).toBe('minio:9000');
  });

  it('builds from Dockerfiles that exist, with the repository as context', () => {
    for (const name of [...APPS, 'migrate']) {
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

describe('Dockerfiles', () => {
  it.each(DOCKERFILES)('%s builds on a supported Node LTS (even major >= 22), pinned', (path) => {
    const images = [...dockerfile(path).matchAll(/^ARG NODE_IMAGE=(\S+)$/gm)].map((m) => m[1]!);
    expect(images).toHaveLength(1);
    const [major] = /^node:(\d+)\.\d+\.\d+-/.exec(images[0]!)!.slice(1).map(Number);
    expect(major! % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(dockerfile(path)).not.toMatch(/^FROM node:/m);
  });

  it.each(DOCKERFILES)('%s runs as node, with a TRAINYARD_HOME it owns outside the root-owned /app', (path) => {
    const text = dockerfile(path);
    const runtime = text.slice(text.lastIndexOf('AS runtime'));
    const home = /^ENV TRAINYARD_HOME=(\S+)$/m.exec(runtime)?.[1];
    expect(home).toBe('/var/lib/trainyard');
    expect(home!.startsWith('/app')).toBe(false);
    expect(runLines(runtime).join('\n')).toContain(`mkdir -p ${home} && chown node:node ${home}`);
    expect(runtime).toMatch(/^USER node$/m);
    // Whatever compose and Kubernetes mount there is the same path.
    for (const name of WORKERS) expect(environmentOf(loadCompose()[name]).TRAINYARD_HOME).toBe(home);
  });

  it("GPU image: runs tfjs-node-gpu's install script on purpose and fails the build unless libtensorflow (GPU) loads", () => {
    const text = dockerfile('docker/worker-gpu.Dockerfile');
    const runs = runLines(text);
    // npm 11 refuses --allow-scripts on a project install's command line, and re-installing a
    // package `npm ci` already put there runs nothing: the script must come from a rebuild.
    expect(runs.join('\n')).not.toMatch(/--allow-scripts|npm install --no-save/);
    const rebuild = runs.findIndex((r) => /npm rebuild @tensorflow\/tfjs-node-gpu\b/.test(r));
    expect(rebuild).toBeGreaterThanOrEqual(0);
    expect(runs[rebuild]).toMatch(/allowScripts\['@tensorflow\/tfjs-node-gpu@4\.22\.0'\]=true/);
    const checks = runs.map((r, i) => [r, i] as const).filter(([r]) => /node docker\/tf-devices\.cjs --build/.test(r));
    expect(checks.length).toBeGreaterThanOrEqual(2); // after the rebuild, and in the runtime image
    expect(checks[0]![1]).toBeGreaterThan(rebuild);
    // The version allowed is the one the lockfile installs.
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    expect(lock.packages['node_modules/@tensorflow/tfjs-node-gpu']?.version).toBe('4.22.0');
  });

  it('GPU image: the check fails on a missing or CPU libtensorflow, and the worker logs its devices at start', () => {
    const check = readFileSync(join(root, 'docker/tf-devices.cjs'), 'utf8');
    expect(check).toMatch(/libtensorflow\.so\.2/);
    expect(check).toMatch(/includes\('libcudart'\)/);
    expect(check).toMatch(/isGPUPackage !== true/);
    expect(check).toMatch(/process\.exit\(1\)/);
    const text = dockerfile('docker/worker-gpu.Dockerfile');
    expect(text).toMatch(/^CMD \["\/bin\/sh", "\/app\/docker\/worker-gpu-start\.sh"\]$/m);
    const start = readFileSync(join(root, 'docker/worker-gpu-start.sh'), 'utf8');
    expect(start.indexOf('node /app/docker/tf-devices.cjs')).toBeGreaterThan(0);
    expect(start.indexOf('exec node /app/dist/apps/worker/src/main.js')).toBeGreaterThan(
      start.indexOf('tf-devices.cjs'),
    );
  });
});

describe('README compose commands', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const services = loadCompose();
  const commands = [...readme.matchAll(/`?(docker compose [^`\n#]+)/g)].map((m) => m[1]!.trim());

  it('name services and profiles that exist', () => {
    expect(commands.length).toBeGreaterThan(2);
    for (const command of commands) {
      const words = command.split(/\s+/).slice(2);
      const profile = words.includes('--profile') ? words[words.indexOf('--profile') + 1] : undefined;
      const verb = words.find((w, i) => !w.startsWith('-') && words[i - 1] !== '--profile')!;
      const named = words
        .slice(words.indexOf(verb) + 1)
        .filter((w, i, all) => !w.startsWith('-') && all[i - 1] !== '--profile');
      for (const name of named) {
        expect(`${command}: ${name}`).toBe(
          `${command}: ${Object.keys(services).includes(name) ? name : '(no such service)'}`,
        );
        if (services[name]?.profiles) expect(services[name]!.profiles).toContain(profile);
      }
    }
  });

  it('say to create .env from the example that holds every required variable', () => {
    expect(readme).toContain('cp docker/compose.env.example .env');
    const required = [...readFileSync(join(root, 'docker-compose.yml'), 'utf8').matchAll(/\$\{([A-Z_]+):\?/g)].map(
      (m) => m[1]!,
    );
    for (const name of new Set(required)) expect(Object.keys(DOT_ENV)).toContain(name);
  });
});
