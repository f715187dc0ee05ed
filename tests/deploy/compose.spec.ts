import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

import { parse as parseYaml } from 'yaml';

import {
  APP_CONFIGS,
  ROOT,
  SERVICE_NAMES,
  generateSecrets,
  hostPorts,
  isKnownVariable,
  listenerEnv,
  listenerPorts,
  parseEnvFile,
  readRepoFile,
  schemaVariables,
  validateAppEnv,
} from './support/repo';
import type { ServiceName } from './support/repo';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const compose = parseYaml(readRepoFile('docker/compose.yml'), { merge: true }) as Any;
const INTERPOLATION = /^\$\{([A-Z0-9_]+):\?[^}]+\}$/;
const SECRETS = generateSecrets();

function service(name: string): Any {
  const found = compose.services?.[name];
  if (!found) throw new Error(`compose service ${name} is missing`);
  return found;
}

function environment(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([key, value]) => [key, String(value)]));
}

/** Returns the environment after compose interpolation with the generated secrets file. */
function interpolated(name: string): Record<string, string> {
  const env = environment(name);
  for (const [key, value] of Object.entries(env)) {
    const match = INTERPOLATION.exec(value);
    if (match) env[key] = SECRETS[match[1]];
  }
  return env;
}

/** Returns the volume mounts of a service as [volume, path] pairs. */
function volumeMounts(name: string): [string, string][] {
  return (service(name).volumes ?? []).map((entry: string) => {
    const [source, target] = entry.split(':');
    return [source, target];
  });
}

describe('compose file', () => {
  it('defines Redis, SRS, the media setup and the five services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['media-init', 'redis', 'srs', ...SERVICE_NAMES].sort());
  });

  it('runs Redis 7 with append-only persistence on a named volume', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7\.\d+\.\d+/);
    expect(redis.command[redis.command.indexOf('--appendonly') + 1]).toBe('yes');
    expect(redis.command[redis.command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    const [volume] = volumeMounts('redis').find(([, target]) => target === '/data') ?? [];
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs a pinned SRS 6 with the rendered config', () => {
    const srs = service('srs');
    expect(srs.image).toMatch(/^ossrs\/srs:v6\.0\.\d+$/);
    expect(srs.entrypoint).toEqual(['/bin/sh', '/etc/srs/render-config.sh']);
    const files = Object.fromEntries(volumeMounts('srs').map(([source, target]) => [target, source]));
    expect(files['/etc/srs/srs.conf']).toBe('./srs/srs.conf');
    expect(files['/etc/srs/render-config.sh']).toBe('./srs/render-config.sh');
    for (const source of [files['/etc/srs/srs.conf'], files['/etc/srs/render-config.sh']]) {
      expect(existsSync(join(ROOT, 'docker', source))).toBe(true);
    }
    expect(srs.ports).toEqual(['127.0.0.1:1935:1935', '127.0.0.1:8080:8080']);
  });

  it('passes the callback secret to SRS by interpolation', () => {
    expect(environment('srs').SRS_CALLBACK_SECRET).toMatch(INTERPOLATION);
    expect(interpolated('srs').SRS_CALLBACK_SECRET).toBe(SECRETS.SRS_CALLBACK_SECRET);
  });

  it('shares the media volume between SRS, srs-adapter and encoder', () => {
    for (const name of ['srs', 'srs-adapter', 'encoder']) {
      expect(volumeMounts(name)).toContainEqual(['media', '/media']);
    }
    expect(Object.keys(compose.volumes)).toContain('media');
  });

  it('prepares the media folders for the unprivileged services', () => {
    const init = service('media-init');
    expect(init.user).toBe('0:0');
    expect(volumeMounts('media-init')).toContainEqual(['media', '/media']);
    expect(init.command.join(' ')).toContain('chown');
  });
});

describe.each(SERVICE_NAMES)('compose %s', (app: ServiceName) => {
  it('builds its own Dockerfile target', () => {
    const build = service(app).build;
    expect(build.target).toBe(app);
    expect(existsSync(join(ROOT, 'docker', build.context, build.dockerfile))).toBe(true);
  });

  it('publishes every listener on its default port', () => {
    const published = (service(app).ports as string[]).map((entry) => entry.split(':'));
    const env = environment(app);
    for (const [listener, port] of listenerPorts(app)) {
      expect(published).toContainEqual(['127.0.0.1', String(port), String(port)]);
      expect(Number(env[listenerEnv(app).get(listener) ?? ''] ?? port)).toBe(port);
    }
  });

  it('uses only variables of the app config schema', () => {
    expect(Object.keys(environment(app)).filter((name) => !isKnownVariable(app, name))).toEqual([]);
  });

  it('takes secrets from the generated env file only', () => {
    const env = environment(app);
    const secretNames = [...APP_CONFIGS[app].SECRETS, ...Object.keys(SECRETS)];
    for (const [name, value] of Object.entries(env)) {
      if (secretNames.includes(name)) expect([name, INTERPOLATION.test(value)]).toEqual([name, true]);
      const match = INTERPOLATION.exec(value);
      if (match) expect(Object.keys(SECRETS)).toContain(match[1]);
    }
  });

  it('provides every required variable', () => {
    const env = environment(app);
    const missing = [...schemaVariables(app)].filter(([name, spec]) => spec.required && env[name] === undefined);
    expect(missing.map(([name]) => name)).toEqual([]);
  });

  it('passes config validation with generated secrets', () => {
    expect(validateAppEnv(app, interpolated(app))).toEqual([]);
  });

  it('listens on all container addresses and uses the compose Redis', () => {
    expect(environment(app).HOST).toBe('0.0.0.0');
    expect(environment(app).REDIS_URL).toBe('redis://redis:6379');
  });

  it('points service URLs at the right ports', () => {
    const ports = hostPorts();
    for (const [name, value] of Object.entries(environment(app))) {
      if (!/^[a-z]+:\/\//.test(value)) continue;
      const url = new URL(value);
      const known = ports.get(url.hostname);
      if (known) expect([name, known.includes(Number(url.port))]).toEqual([name, true]);
    }
  });

  it('keeps every data directory on a volume', () => {
    const directories = [...schemaVariables(app).keys()].filter((name) => /_(ROOT|DIR)$/.test(name));
    const mounts = volumeMounts(app).map(([, target]) => target);
    for (const name of directories) {
      const value = environment(app)[name] ?? String(schemaVariables(app).get(name)?.default);
      expect([name, mounts.some((mount) => value === mount || value.startsWith(`${mount}/`))]).toEqual([name, true]);
      expect(posix.isAbsolute(value)).toBe(true);
    }
  });

  it('checks health with the image health check script and waits for Redis', () => {
    expect(service(app).healthcheck.test).toEqual(['CMD', 'node', 'docker/healthcheck.mjs']);
    expect(service(app).depends_on.redis).toEqual({ condition: 'service_healthy' });
  });

  it('allows graceful shutdown to finish before the kill', () => {
    const shutdownMs = Number(environment(app).SHUTDOWN_TIMEOUT_MS ?? schemaVariables(app).get('SHUTDOWN_TIMEOUT_MS')?.default);
    const grace = /^(\d+)s$/.exec(service(app).stop_grace_period);
    expect(grace).not.toBeNull();
    expect(Number(grace?.[1]) * 1000).toBeGreaterThan(shutdownMs);
  });
});

describe('compose dependencies', () => {
  it('starts srs-adapter in external mode against the compose SRS', () => {
    const url = new URL(environment('srs-adapter').SRS_API_URL);
    expect(url.hostname).toBe('srs');
    expect(url.port).toBe('1985');
    expect(service('srs-adapter').depends_on.srs).toBeDefined();
  });

  it('starts the orchestrator after the four services it drives', () => {
    const dependsOn = service('orchestrator').depends_on;
    for (const app of SERVICE_NAMES.filter((name) => name !== 'orchestrator')) {
      expect(dependsOn[app]).toEqual({ condition: 'service_healthy' });
    }
  });

  it('depends only on services that exist', () => {
    for (const [name, definition] of Object.entries(compose.services) as [string, Any][]) {
      for (const dependency of Object.keys(definition.depends_on ?? {})) {
        expect([name, dependency in compose.services]).toEqual([name, true]);
      }
    }
  });
});

describe('compose-secrets.sh', () => {
  it('generates every variable the compose file interpolates', () => {
    const names = new Set<string>();
    for (const name of Object.keys(compose.services)) {
      for (const value of Object.values(environment(name))) {
        const match = INTERPOLATION.exec(value);
        if (match) names.add(match[1]);
      }
    }
    expect([...names].sort()).toEqual(Object.keys(SECRETS).sort());
  });

  it('keeps existing values and adds missing ones', () => {
    const directory = mkdtempSync(join(tmpdir(), 'castplane-compose-'));
    try {
      const file = join(directory, 'compose.env');
      writeFileSync(file, 'AUTH_JWT_SECRET=kept0000000000000000000000000000000000\n');
      execFileSync('sh', [join(ROOT, 'docker/compose-secrets.sh'), file], { stdio: ['ignore', 'ignore', 'pipe'] });
      const values = parseEnvFile(readFileSync(file, 'utf8'));
      expect(values.AUTH_JWT_SECRET).toBe('kept0000000000000000000000000000000000');
      expect(Object.keys(values).sort()).toEqual(Object.keys(SECRETS).sort());
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('writes a different value on every run', () => {
    expect(generateSecrets().AUTH_JWT_SECRET).not.toBe(SECRETS.AUTH_JWT_SECRET);
  });
});
