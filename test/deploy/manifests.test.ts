// Static checks of deploy/: the Dockerfile, docker-compose.yml and the Kubernetes manifests.
// No container engine or cluster runs on the machines this project is built on, so nothing here
// builds an image or applies a manifest: the files are parsed and their essentials checked
// (images, probes, settings wiring, non-root, resources, selectors).
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, DEFAULT_WORKER_HEALTH_PORT, loadConfig } from '@app/platform';

const ROOT = resolve(__dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const K8S = join(DEPLOY, 'k8s');

/** The settings every api and worker process needs in production (README.md, "Configuration"). */
const REQUIRED_SETTINGS = [
  'NODE_ENV',
  'PORT',
  'DATA_DIR',
  'AUTH_TOKENS',
  'EVENTSTORE_URL',
  'REDIS_URL',
  'READ_DB_URL',
  'KEY_ENCRYPTION_KEY',
  'REQUEST_HASH_KEY',
] as const;
/** Never in a ConfigMap or a compose file as a literal. */
const SECRET_SETTINGS = [
  'AUTH_TOKENS',
  'KEY_ENCRYPTION_KEY',
  'REQUEST_HASH_KEY',
  'RECEIPT_SIGNING_KEY',
] as const;
/** D11: an Ed25519 key, as the production shape requires in RECEIPT_SIGNING_KEY. */
const RECEIPT_KEY = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const PLACEHOLDER = 'REPLACE_ME';
/** deploy/probe.js as the Dockerfile installs it (WORKDIR /app). */
const PROBE = '/app/probe.js';
/** The api's flag for "the worker runs elsewhere" (apps/api/src/main.ts). */
const API_ONLY = '--api-only';
/** The worker's health and metrics port as deploy/ sets it (WORKER_HEALTH_PORT, the app's default). */
const WORKER_HEALTH_PORT = DEFAULT_WORKER_HEALTH_PORT;
/**
 * What a process needs after its drain (SHUTDOWN_DRAIN_MS) to close, at most: the api finishes
 * requests in flight and closes Redis (2 s) and the stores; the worker gives jobs in hand 10 s and
 * a Redis that does not answer ~4 s, then closes its health port (2 s), Redis and the stores.
 */
const SHUTDOWN_BUDGET_MS = { api: 20_000, worker: 30_000 } as const;

/** nest-cli.json project -> the file `npm run build` (tsc + tsc-alias, outDir dist) emits for it. */
function entryOf(project: 'api' | 'worker' | 'ops'): string {
  const nest = JSON.parse(readFileSync(join(ROOT, 'nest-cli.json'), 'utf8'));
  const p = nest.projects[project];
  if (!p) throw new Error(`nest-cli.json has no project ${project}`);
  return `dist/${p.sourceRoot}/${p.entryFile}.js`;
}

const read = (path: string) => readFileSync(path, 'utf8');
type Labels = Record<string, string>;
const selects = (selector: Labels, labels: Labels | undefined) =>
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

/** Instructions with line continuations joined and comments dropped; stages split at FROM. */
function parseDockerfile(text: string): { globalArgs: Record<string, string>; stages: Stage[] } {
  const lines = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') {
      const [base = '', as, name] = instruction.args.split(' ');
      stages.push({
        base,
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [key = '', value = ''] = instruction.args.split('=');
        globalArgs[key] = value;
      }
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

describe('deploy/Dockerfile', () => {
  const { globalArgs, stages } = parseDockerfile(read(join(DEPLOY, 'Dockerfile')));
  const byName = new Map(stages.filter((s) => s.name).map((s) => [s.name!, s]));
  const runtime = stages[stages.length - 1]!;
  const resolveBase = (base: string) =>
    base.replace(/\$\{?(\w+)\}?/g, (_m, arg: string) => globalArgs[arg] ?? `<unset ${arg}>`);
  /** The stage and every stage it is built FROM, nearest first. */
  const lineage = (stage: Stage): Stage[] => {
    const parent = byName.get(stage.base);
    return parent ? [stage, ...lineage(parent)] : [stage];
  };
  const runs = (stage: Stage) =>
    lineage(stage).flatMap((s) =>
      s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args),
    );
  const last = (stage: Stage, keyword: string) =>
    [...stage.instructions].reverse().find((i) => i.keyword === keyword)?.args;
  const copiesFrom = (stage: Stage) =>
    stage.instructions
      .filter((i) => i.keyword === 'COPY' && /--from=/.test(i.args))
      .map((i) => {
        const [, from = ''] = /--from=(\S+)/.exec(i.args) ?? [];
        const paths = i.args.split(' ').filter((part) => !part.startsWith('--'));
        return { from, sources: paths.slice(0, -1), target: paths[paths.length - 1] ?? '' };
      });
  const hasRun = (stage: Stage, pattern: RegExp) => runs(stage).some((r) => pattern.test(r));
  const NPM_CI_ALL = /\bnpm ci\b(?![^&;]*--omit=dev)/;
  const NPM_CI_PROD = /\bnpm ci\b[^&;]*--omit=dev/;

  it('is a multi-stage build on node:20-bookworm-slim (Node >= 20.19)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const root = lineage(stage).at(-1)!;
      expect(resolveBase(root.base)).toBe('node:20-bookworm-slim');
    }
  });

  it('builds with npm ci + npm run build, with python3, make and g++ for better-sqlite3', () => {
    const build = stages.find((s) => hasRun(s, NPM_CI_ALL) && hasRun(s, /\bnpm run build\b/));
    expect(build).toBeDefined();
    const installs = runs(build!).join(' ');
    expect(installs).toMatch(/apt-get install/);
    for (const tool of ['python3', 'make', 'g++']) expect(installs.split(' ')).toContain(tool);
  });

  it('runs a production-only install (npm ci --omit=dev) whose node_modules the runtime takes', () => {
    const copies = copiesFrom(runtime);
    const modules = copies.filter((c) => c.sources.some((s) => /node_modules\/?$/.test(s)));
    expect(modules).toHaveLength(1);
    const source = byName.get(modules[0]!.from);
    expect(source).toBeDefined();
    expect(hasRun(source!, NPM_CI_PROD)).toBe(true);
    expect(hasRun(source!, NPM_CI_ALL)).toBe(false); // no dev dependencies in that tree
  });

  it('gives the runtime the compiled dist/ and neither compilers nor sources', () => {
    const dist = copiesFrom(runtime).filter((c) => c.sources.some((s) => /dist\/?$/.test(s)));
    expect(dist).toHaveLength(1);
    expect(hasRun(byName.get(dist[0]!.from)!, /\bnpm run build\b/)).toBe(true);
    expect(byName.has(runtime.base)).toBe(false); // FROM the node image, not the toolchain
    expect(runs(runtime).join(' ')).not.toMatch(/g\+\+|\bmake\b|python3/);
    const plainCopies = runtime.instructions.filter(
      (i) => i.keyword === 'COPY' && !/--from=/.test(i.args),
    );
    expect(plainCopies.map((i) => i.args).join(' ')).not.toMatch(/\b(apps|libs|test)\b/);
  });

  it('runs as a numeric non-root USER, with NODE_ENV=production', () => {
    const user = last(runtime, 'USER');
    expect(user).toBeDefined();
    // Numeric, so that Kubernetes' runAsNonRoot can verify it without a passwd lookup.
    const [uid = ''] = user!.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    const env = runtime.instructions
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/\bNODE_ENV=production\b/);
  });

  it('defaults to the api, exposes PORT and probes with deploy/probe.js', () => {
    expect(JSON.parse(last(runtime, 'CMD')!)).toEqual(['node', entryOf('api')]);
    expect(last(runtime, 'EXPOSE')).toBe(`3000 ${WORKER_HEALTH_PORT}`);
    expect(last(runtime, 'WORKDIR')).toBe('/app');
    const probe = runtime.instructions.find(
      (i) => i.keyword === 'COPY' && i.args.startsWith('deploy/probe.js '),
    );
    expect(resolve('/app', probe!.args.split(' ')[1]!)).toBe(PROBE);
    const healthcheck = last(runtime, 'HEALTHCHECK')!;
    expect(JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4))).toEqual(['node', PROBE]);
  });

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    const rules = read(join(ROOT, '.dockerignore'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const entry of ['.git', '**/node_modules', 'dist', 'var', '**/.env']) {
      expect(rules).toContain(entry);
    }
    // Plain paths only (enough for what the Dockerfile copies): the last matching rule wins.
    const excluded = (path: string) =>
      rules.reduce((out, rule) => {
        const negated = rule.startsWith('!');
        const pattern = negated ? rule.slice(1) : rule;
        return path === pattern || path.startsWith(`${pattern}/`) ? !negated : out;
      }, false);
    const sources = stages.flatMap((stage) =>
      stage.instructions
        .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))
        .flatMap((i) => i.args.split(' ').slice(0, -1)),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect([source, existsSync(join(ROOT, source))]).toEqual([source, true]);
      expect([source, excluded(source)]).toEqual([source, false]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml
// ---------------------------------------------------------------------------------------------

describe('deploy/docker-compose.yml', () => {
  // Merge keys (<<: *app) are YAML 1.1; docker compose supports them, so parse them too.
  const compose = parse(read(join(DEPLOY, 'docker-compose.yml')), { merge: true });
  const services: Record<string, any> = compose.services;
  const eventStore = Object.keys(services).find((name) =>
    /kurrentdb|eventstore/.test(String(services[name].image)),
  );
  const environment = (service: any): Record<string, string> =>
    Array.isArray(service.environment)
      ? Object.fromEntries(
          service.environment.map((entry: string) => {
            const at = entry.indexOf('=');
            return [entry.slice(0, at), entry.slice(at + 1)];
          }),
        )
      : Object.fromEntries(
          Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]),
        );
  const argv = (value: string | string[] | undefined) =>
    Array.isArray(value) ? value.join(' ') : (value ?? '');
  /** [volume, path] for every "volume:/path" mount of a service. */
  const mounts = (service: any): [string, string][] =>
    (service.volumes ?? []).map((v: string | { source: string; target: string }) =>
      typeof v === 'string' ? (v.split(':').slice(0, 2) as [string, string]) : [v.source, v.target],
    );

  it('has the event store, Redis, PostgreSQL, api and worker, each with an image or a build', () => {
    expect(eventStore).toBeDefined();
    for (const name of ['redis', 'postgres', 'api', 'worker', eventStore!]) {
      expect(services[name]).toBeDefined();
    }
    for (const [name, service] of Object.entries(services)) {
      expect([name, Boolean(service.image || service.build)]).toEqual([name, true]);
    }
  });

  it('gives every long-running service a health check', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.profiles) continue; // on-demand tools (ops), run with `docker compose run`
      expect([name, service.healthcheck?.disable ?? false]).toEqual([name, false]);
      expect([name, argv(service.healthcheck?.test)]).toEqual([name, expect.stringMatching(/\S/)]);
    }
  });

  it('runs the event store as an insecure single node with a data volume', () => {
    const kurrent = services[eventStore!];
    const env = environment(kurrent);
    const insecure = env['KURRENTDB_INSECURE'] ?? env['EVENTSTORE_INSECURE'];
    expect(insecure).toBe('true');
    expect(env['KURRENTDB_CLUSTER_SIZE'] ?? env['EVENTSTORE_CLUSTER_SIZE']).toBe('1');
    expect(argv(kurrent.healthcheck.test)).toContain('/health/live');
    expect(mounts(kurrent).map(([, path]) => path)).toContain('/var/lib/kurrentdb');
  });

  it('runs Redis with AOF and maxmemory-policy noeviction, on a volume', () => {
    const command = argv(services.redis.command);
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    expect(mounts(services.redis).map(([, path]) => path)).toContain('/data');
  });

  it('runs PostgreSQL on a volume with a pg_isready health check', () => {
    expect(mounts(services.postgres).map(([, path]) => path)).toContain('/var/lib/postgresql/data');
    expect(argv(services.postgres.healthcheck.test)).toContain('pg_isready');
  });

  it('declares every named volume it mounts', () => {
    for (const service of Object.values(services)) {
      for (const [volume] of mounts(service)) {
        if (volume.startsWith('.') || volume.startsWith('/')) continue; // bind mounts
        expect(Object.keys(compose.volumes ?? {})).toContain(volume);
      }
    }
  });

  describe.each(['api', 'worker'] as const)('%s', (name) => {
    const service = services[name];
    const env = environment(service);

    it('is built from deploy/Dockerfile with the repository as context', () => {
      expect(resolve(DEPLOY, service.build.context)).toBe(ROOT);
      expect(existsSync(join(ROOT, service.build.dockerfile))).toBe(true);
      expect(service.build.dockerfile).toBe('deploy/Dockerfile');
    });

    it('runs its own entry point (the api without the worker roles)', () => {
      const flags = name === 'api' ? ` ${API_ONLY}` : '';
      expect(argv(service.command)).toBe(`node ${entryOf(name)}${flags}`);
    });

    it('is probed by deploy/probe.js over HTTP (the worker: readiness on its health port)', () => {
      const mode =
        name === 'api' ? 'http /health/live' : `http /health/ready ${env['WORKER_HEALTH_PORT']}`;
      expect(argv(service.healthcheck.test)).toBe(`CMD node ${PROBE} ${mode}`);
      if (name === 'worker') expect(env['WORKER_HEALTH_PORT']).toBe(String(WORKER_HEALTH_PORT));
    });

    it('gets every required setting, pointing at the compose services', () => {
      for (const setting of REQUIRED_SETTINGS) expect(Object.keys(env)).toContain(setting);
      expect(env['NODE_ENV']).toBe('production');
      expect(env['EVENTSTORE_URL']).toMatch(new RegExp(`^(kurrentdb|esdb)://${eventStore}:2113`));
      expect(env['REDIS_URL']).toMatch(/^redis:\/\/redis:6379/);
      expect(env['READ_DB_URL']).toMatch(/^postgres(ql)?:\/\/[^@]+@postgres:5432\//);
      expect(env['DATA_DIR']).toBe('/app/var');
      // The worker projects the read models; the api leaves its event loop to requests.
      expect(env['READ_MODEL_PROJECTOR']).toBe(name === 'api' ? 'off' : 'on');
    });

    it('takes secrets from the environment or deploy/.env, never as literals', () => {
      for (const setting of SECRET_SETTINGS) {
        expect(env[setting]).toMatch(new RegExp(`^\\$\\{${setting}(:[-?][^}]*)?\\}$`));
      }
      expect(env['AUTH_TOKENS']).toMatch(/^\$\{AUTH_TOKENS:\?/); // required: refuses to start
    });

    it('waits for healthy dependencies', () => {
      for (const dependency of [eventStore!, 'redis', 'postgres']) {
        expect(service.depends_on?.[dependency]?.condition).toBe('service_healthy');
      }
    });

    it('keeps DATA_DIR on a volume', () => {
      expect(mounts(service)).toContainEqual(['app-data', env['DATA_DIR']]);
    });
  });

  it('documents in .env.example an AUTH_TOKENS the app accepts', () => {
    const line = read(join(DEPLOY, '.env.example'))
      .split('\n')
      .find((l) => l.startsWith('AUTH_TOKENS='));
    const value = line!.slice('AUTH_TOKENS='.length).replace(/^'(.*)'$/, '$1');
    const config = loadConfig({ NODE_ENV: 'production', AUTH_TOKENS: value });
    expect(config.authTokens.length).toBeGreaterThan(0);
  });

  it('offers the ops CLI on demand with the same image', () => {
    expect(services.ops.profiles).toEqual(['ops']);
    expect(argv(services.ops.entrypoint)).toBe(`node ${entryOf('ops')}`);
    expect(services.ops.image).toBe(services.api.image);
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes manifests
// ---------------------------------------------------------------------------------------------

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels };
  [field: string]: any;
  file: string;
}

describe('deploy/k8s', () => {
  const files = readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f));
  const objects: K8sObject[] = files.flatMap((file) =>
    parseAllDocuments(read(join(K8S, file)))
      .map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
        return doc.toJS();
      })
      .filter(Boolean)
      .map((object) => ({ ...object, file })),
  );
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const named = (kind: string, name: string) => ofKind(kind).find((o) => o.metadata.name === name);
  const deployments = ofKind('Deployment');
  const deployment = (component: string) =>
    deployments.find(
      (d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component,
    );
  const configMap = ofKind('ConfigMap')[0]!;
  const secret = ofKind('Secret')[0]!;

  it('parses, and every object has apiVersion, kind and a name', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect(object.apiVersion).toEqual(expect.any(String));
      expect(object.kind).toEqual(expect.any(String));
      if (object.kind !== 'Kustomization') expect(object.metadata.name).toEqual(expect.any(String));
    }
  });

  it('lists every manifest in kustomization.yaml except the placeholder Secret', () => {
    const kustomization = ofKind('Kustomization')[0]!;
    const manifests = files.filter((f) => f !== 'kustomization.yaml');
    for (const resource of kustomization.resources) expect(manifests).toContain(resource);
    expect([...kustomization.resources, secret.file].sort()).toEqual(manifests.sort());
  });

  it('has an api and a worker Deployment, two replicas or more each', () => {
    expect(deployment('api')).toBeDefined();
    expect(deployment('worker')).toBeDefined();
    for (const d of deployments)
      expect([d.metadata.name, d.spec.replicas >= 2]).toEqual([d.metadata.name, true]);
  });

  describe.each(['api', 'worker'] as const)('%s Deployment', (component) => {
    const d = () => deployment(component)!;
    const pod = () => d().spec.template.spec;
    const containers = (): any[] => pod().containers;
    const container = () => containers()[0];

    it('selects its own pod template', () => {
      expect(selects(d().spec.selector.matchLabels, d().spec.template.metadata.labels)).toBe(true);
    });

    it('runs the image with its entry point', () => {
      expect(containers()).toHaveLength(1);
      const image: string = container().image;
      expect(image).toMatch(/^[\w.-]+(:\d+)?\/[\w./-]+:[\w.-]+$/); // registry/name:tag
      expect(image).not.toMatch(/:latest$/);
      const flags = component === 'api' ? [API_ONLY] : [];
      expect(container().command).toEqual(['node', entryOf(component), ...flags]);
    });

    it('projects the read models in the worker only (READ_MODEL_PROJECTOR), so the api serves requests', () => {
      const env = Object.fromEntries(
        (container().env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
      );
      expect(env['READ_MODEL_PROJECTOR']).toBe(component === 'api' ? 'off' : 'on');
    });

    if (component === 'api') {
      it('has liveness (/health/live), readiness (/health/ready) and startup probes', () => {
        const ports = container().ports.flatMap((p: any) => [p.name, p.containerPort]);
        const paths = { livenessProbe: '/health/live', readinessProbe: '/health/ready' };
        for (const [probe, path] of Object.entries({ ...paths, startupProbe: '/health/live' })) {
          const httpGet = container()[probe]?.httpGet;
          expect([probe, httpGet?.path]).toEqual([probe, path]);
          expect(ports).toContain(httpGet.port);
        }
      });

      it('listens on the PORT of the ConfigMap', () => {
        expect(container().ports.map((p: any) => p.containerPort)).toContain(
          Number(configMap.data.PORT),
        );
      });
    } else {
      it('serves probes and metrics on its health port (WORKER_HEALTH_PORT): startup and liveness /health/live (no dependency), readiness /health/ready', () => {
        const env = Object.fromEntries(
          (container().env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        expect(env['WORKER_HEALTH_PORT']).toBe(String(WORKER_HEALTH_PORT));
        expect(container().ports).toEqual([
          { name: 'metrics', containerPort: WORKER_HEALTH_PORT, protocol: 'TCP' },
        ]);
        const paths = {
          startupProbe: '/health/live',
          livenessProbe: '/health/live',
          readinessProbe: '/health/ready',
        };
        for (const [probe, path] of Object.entries(paths)) {
          const httpGet = container()[probe]?.httpGet;
          expect([probe, httpGet?.path, httpGet?.port]).toEqual([probe, path, 'metrics']);
        }
        // The readiness checks are bounded at 2 s each (libs/health): the timeout leaves room.
        expect(container().readinessProbe.timeoutSeconds).toBeGreaterThanOrEqual(3);
      });
    }

    it('drains for SHUTDOWN_DRAIN_MS (a value the app accepts) and has a termination grace period longer than drain + shutdown; the api drains longer than its readiness probe takes to fail', () => {
      const env = Object.fromEntries(
        (container().env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
      );
      const drainMs = loadConfig({ SHUTDOWN_DRAIN_MS: env['SHUTDOWN_DRAIN_MS'] }).shutdownDrainMs;
      expect(String(drainMs)).toBe(env['SHUTDOWN_DRAIN_MS']);
      if (component === 'api') {
        const { periodSeconds, failureThreshold } = container().readinessProbe;
        expect(drainMs).toBeGreaterThan(periodSeconds * failureThreshold * 1000);
      }
      expect(pod().terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        drainMs + SHUTDOWN_BUDGET_MS[component],
      );
    });

    it('is scraped by Prometheus on the port that serves /metrics', () => {
      const annotations = d().spec.template.metadata.annotations ?? {};
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(annotations['prometheus.io/path']).toBe('/metrics');
      const port = component === 'api' ? Number(configMap.data.PORT) : WORKER_HEALTH_PORT;
      expect(annotations['prometheus.io/port']).toBe(String(port));
      expect(container().ports.map((p: any) => p.containerPort)).toContain(port);
    });

    it('sets resource requests and limits', () => {
      const { requests, limits } = container().resources;
      expect(requests.cpu).toBeDefined();
      expect(requests.memory).toBeDefined();
      expect(limits.memory).toBeDefined();
      expect(limits.cpu).toBeDefined();
    });

    it('runs non-root, without privilege escalation, on a read-only root filesystem', () => {
      const podContext = pod().securityContext ?? {};
      const context = container().securityContext ?? {};
      expect(context.runAsNonRoot ?? podContext.runAsNonRoot).toBe(true);
      expect(context.runAsUser ?? podContext.runAsUser).toBeGreaterThan(0);
      expect(context.allowPrivilegeEscalation).toBe(false);
      expect(context.readOnlyRootFilesystem).toBe(true);
      expect(context.capabilities.drop).toEqual(['ALL']);
    });

    it('mounts emptyDirs for /tmp and DATA_DIR (the only writable paths)', () => {
      const volumes = new Map(pod().volumes.map((v: any) => [v.name, v]));
      const writable = container()
        .volumeMounts.filter((m: any) => (volumes.get(m.name) as any)?.emptyDir && !m.readOnly)
        .map((m: any) => m.mountPath);
      expect(writable).toEqual(expect.arrayContaining(['/tmp', configMap.data.DATA_DIR]));
    });

    it('gets every required setting from the ConfigMap and the Secret', () => {
      const available = new Map<string, string>(); // setting -> where it comes from
      for (const e of container().env ?? []) available.set(e.name, 'env');
      for (const source of container().envFrom ?? []) {
        const ref = source.configMapRef ?? source.secretRef;
        const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
        const object = named(kind, ref.name);
        expect([kind, ref.name, Boolean(object)]).toEqual([kind, ref.name, true]);
        const keys = Object.keys({ ...object!.data, ...object!.stringData });
        for (const key of keys) available.set(key, kind);
      }
      for (const setting of REQUIRED_SETTINGS) {
        expect([setting, available.has(setting)]).toEqual([setting, true]);
      }
      for (const setting of SECRET_SETTINGS) expect(available.get(setting)).toBe('Secret');
    });

    it('is covered by a PodDisruptionBudget that still lets a node drain', () => {
      const pdbs = ofKind('PodDisruptionBudget').filter((p) =>
        selects(p.spec.selector.matchLabels, d().spec.template.metadata.labels),
      );
      expect(pdbs).toHaveLength(1);
      const { minAvailable, maxUnavailable } = pdbs[0]!.spec;
      if (minAvailable !== undefined) expect(minAvailable).toBeLessThan(d().spec.replicas);
      else expect(maxUnavailable).toBeGreaterThanOrEqual(1);
    });
  });

  it('has PodDisruptionBudgets that each select exactly one Deployment', () => {
    const pdbs = ofKind('PodDisruptionBudget');
    expect(pdbs.length).toBeGreaterThanOrEqual(2);
    for (const pdb of pdbs) {
      const matched = deployments.filter((d) =>
        selects(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels),
      );
      expect([pdb.metadata.name, matched.length]).toEqual([pdb.metadata.name, 1]);
    }
  });

  it('has a Service that selects the api pods only, on the api container port', () => {
    const services = ofKind('Service');
    expect(services).toHaveLength(1);
    const service = services[0]!;
    const api = deployment('api')!;
    expect(selects(service.spec.selector, api.spec.template.metadata.labels)).toBe(true);
    expect(
      selects(service.spec.selector, deployment('worker')!.spec.template.metadata.labels),
    ).toBe(false);
    const ports = api.spec.template.spec.containers[0].ports.flatMap((p: any) => [
      p.name,
      p.containerPort,
    ]);
    for (const port of service.spec.ports) expect(ports).toContain(port.targetPort);
  });

  it('keeps secrets out of the ConfigMap and runs in production mode', () => {
    expect(configMap.data.NODE_ENV).toBe('production');
    for (const setting of SECRET_SETTINGS)
      expect(Object.keys(configMap.data)).not.toContain(setting);
  });

  it('ships the Secret with clearly marked placeholders only', () => {
    const values: Record<string, string> = { ...secret.stringData, ...secret.data };
    for (const setting of SECRET_SETTINGS) expect(Object.keys(values)).toContain(setting);
    for (const [key, value] of Object.entries(values)) {
      expect([key, value]).toEqual([key, expect.stringContaining(PLACEHOLDER)]);
    }
    expect(read(join(K8S, secret.file))).toMatch(/PLACEHOLDERS ONLY/);
  });

  it('ships placeholders the app refuses to start with', () => {
    const env = { NODE_ENV: 'production', ...configMap.data, ...secret.stringData };
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const refused = (error as ConfigError).issues.map((i) => i.variable).sort();
    expect(refused).toEqual(Object.keys(secret.stringData).sort());
  });
});

describe('docker-compose.postgres-log.yml (the event log in PostgreSQL)', () => {
  const base = parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'));
  // `!override` is docker compose's tag for "replace, do not merge"; here a plain mapping.
  const override = parse(readFileSync(join(DEPLOY, 'docker-compose.postgres-log.yml'), 'utf8'), {
    customTags: [{ tag: '!override', collection: 'map', resolve: (map: unknown) => map }],
    merge: true,
  });

  it.each(['api', 'worker', 'ops'])(
    'points the %s at a schema of its own in the compose PostgreSQL and does not wait for KurrentDB',
    (name) => {
      expect(base.services[name]).toBeDefined();
      const service = override.services[name];
      const url = String(service.environment.EVENTSTORE_URL);
      expect(url).toMatch(/^postgres:\/\/[^@]+@postgres:5432\/subscriptions\?schema=event_log$/);
      expect(loadConfig({ ...productionLike(), EVENTSTORE_URL: url }).eventStoreUrl).toBe(url);
      expect(Object.keys(service.depends_on).sort()).toEqual(['postgres', 'redis']);
    },
  );
});

function productionLike(): Record<string, string> {
  return {
    NODE_ENV: 'production',
    AUTH_TOKENS: JSON.stringify({ t: { service: 's', scopes: ['ops'] } }),
    READ_DB_URL: 'postgres://u:p@postgres:5432/subscriptions',
    RECEIPT_SIGNING_KEY: RECEIPT_KEY,
  };
}
