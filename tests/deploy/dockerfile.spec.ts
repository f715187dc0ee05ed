import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { APP_CONFIGS, ROOT, SERVICE_NAMES, listenerEnv, listenerPorts, readRepoFile } from './support/repo';
import type { ServiceName } from './support/repo';
import { expandArgs, isDockerignored, parseCopy, parseDockerfile, stageChain } from './support/dockerfile';
import type { Instruction } from './support/dockerfile';

const dockerfile = parseDockerfile(readRepoFile('docker/Dockerfile'));
const dockerignore = readRepoFile('.dockerignore');
const FFMPEG_APPS: ServiceName[] = ['encoder', 'srs-adapter'];
const SECRET_NAMES = new Set(SERVICE_NAMES.flatMap((app) => [...APP_CONFIGS[app].SECRETS]));

function instructions(app: string): Instruction[] {
  return stageChain(dockerfile, app)
    .reverse()
    .flatMap((stage) => stage.instructions);
}

function last(app: string, keyword: string): Instruction | undefined {
  return instructions(app)
    .filter((instruction) => instruction.keyword === keyword)
    .pop();
}

/** ENV and ARG assignments of every stage as [name, value] pairs. */
function assignments(): [string, string][] {
  const pairs: [string, string][] = [...dockerfile.globalArgs.entries()];
  for (const stage of dockerfile.stages) {
    for (const instruction of stage.instructions.filter((item) => ['ENV', 'ARG'].includes(item.keyword))) {
      for (const match of instruction.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/g)) {
        pairs.push([match[1], match[2] ?? '']);
      }
    }
  }
  return pairs;
}

/** True when .gitignore excludes `path`, so a clean checkout would not contain it. */
function isGitIgnored(path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', path], { cwd: ROOT, stdio: 'ignore' });
    return true;
  } catch (error) {
    // git check-ignore exits 1 for a path it does not ignore; anything else is a failed check.
    if ((error as { status?: number }).status === 1) return false;
    throw error;
  }
}

describe('Dockerfile', () => {
  it('has a target per app', () => {
    const names = dockerfile.stages.map((stage) => stage.name);
    for (const app of SERVICE_NAMES) expect(names).toContain(app);
  });

  it('builds from a pinned Node 20 slim image', () => {
    for (const stage of dockerfile.stages) {
      const known = dockerfile.stages.some((other) => other.name === stage.from);
      if (known) continue;
      const image = expandArgs(stage.from, dockerfile.globalArgs);
      expect(image).toMatch(/^node:20\.\d+\.\d+-bookworm-slim(@sha256:[a-f0-9]{64})?$/);
    }
  });

  it('installs production dependencies with the workspace lockfile', () => {
    const runs = stageChain(dockerfile, 'prod-deps')[0].instructions.filter((item) => item.keyword === 'RUN');
    expect(runs.some((run) => /npm ci --omit=dev/.test(run.args))).toBe(true);
    const copied = stageChain(dockerfile, 'prod-deps')[0]
      .instructions.filter((item) => item.keyword === 'COPY')
      .flatMap((item) => parseCopy(item.args).sources);
    expect(copied).toContain('package-lock.json');
    const workspaces = ['apps', 'libs'].flatMap((folder) =>
      readdirSync(join(ROOT, folder))
        .filter((name) => existsSync(join(ROOT, folder, name, 'package.json')))
        .map((name) => `${folder}/${name}/package.json`),
    );
    expect(copied.filter((source) => source.endsWith('/package.json')).sort()).toEqual(workspaces.sort());
  });

  it('copies only files that a clean checkout contains', () => {
    for (const stage of dockerfile.stages) {
      for (const instruction of stage.instructions.filter((item) => ['COPY', 'ADD'].includes(item.keyword))) {
        expect(instruction.keyword).toBe('COPY');
        const { flags, sources } = parseCopy(instruction.args);
        if (flags.from) {
          expect(dockerfile.stages.map((item) => item.name)).toContain(flags.from);
          continue;
        }
        for (const source of sources) {
          expect([source, existsSync(join(ROOT, source))]).toEqual([source, true]);
          expect([source, isGitIgnored(source)]).toEqual([source, false]);
          expect([source, isDockerignored(dockerignore, source)]).toEqual([source, false]);
        }
      }
    }
  });

  it.each(SERVICE_NAMES)('runs %s as a non-root user', (app) => {
    const user = last(app, 'USER')?.args ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(user).toMatch(/^\d+:\d+$/);
  });

  it.each(SERVICE_NAMES)('starts %s from its bundle with a health check on its first listener', (app) => {
    expect(last(app, 'CMD')?.args).toBe(`["node", "dist/apps/${app}/main.js"]`);
    expect(last(app, 'HEALTHCHECK')?.args).toContain('CMD ["node", "docker/healthcheck.mjs"]');
    const env = instructions(app)
      .filter((item) => item.keyword === 'ENV')
      .map((item) => item.args)
      .join(' ');
    const [listener, port] = [...listenerPorts(app)][0];
    expect(env).toContain(`HEALTHCHECK_PORT_ENV=${listenerEnv(app).get(listener)}`);
    expect(env).toContain(`HEALTHCHECK_PORT=${port}`);
    expect(env).toContain('HOST=0.0.0.0');
    const copies = instructions(app).filter((item) => item.keyword === 'COPY').map((item) => item.args);
    expect(copies).toContain(`--from=build /app/dist/apps/${app} dist/apps/${app}`);
  });

  it.each(SERVICE_NAMES)('exposes the listener ports of %s', (app) => {
    const exposed = (last(app, 'EXPOSE')?.args ?? '').split(/\s+/).map(Number);
    for (const port of listenerPorts(app).values()) expect(exposed).toContain(port);
  });

  it.each(SERVICE_NAMES)('installs ffmpeg in %s only where it runs', (app) => {
    const installs = instructions(app).some((item) => item.keyword === 'RUN' && /apt-get install .*\bffmpeg\b/.test(item.args));
    expect(installs).toBe(FFMPEG_APPS.includes(app));
  });

  it('sets no secret through ENV or ARG', () => {
    for (const [name, value] of assignments()) {
      expect(SECRET_NAMES.has(name)).toBe(false);
      expect(/SECRET|PASSWORD|TOKEN|API_KEY/i.test(name)).toBe(false);
      expect(/[A-Fa-f0-9]{32,}/.test(value)).toBe(false);
    }
  });

  it('runs from a bundle that the build script writes', () => {
    for (const app of SERVICE_NAMES) {
      const bundle = join(ROOT, 'dist/apps', app, 'main.js');
      if (!existsSync(bundle)) execFileSync(process.execPath, ['scripts/build.mjs', app], { cwd: ROOT, stdio: 'ignore' });
      expect(existsSync(bundle)).toBe(true);
    }
  });
});

describe('.dockerignore', () => {
  it.each(['node_modules', 'apps/encoder/node_modules', 'dist', '.data', '.data/dev.env', '.env', '.env.local', 'docker/secrets', '.git', 'a.log'])(
    'excludes %s',
    (path) => {
      expect(isDockerignored(dockerignore, path)).toBe(true);
    },
  );

  it.each(['package.json', 'apps/encoder/src/main.ts', 'libs/http/src/app.ts', 'docker/healthcheck.mjs', 'scripts/build.mjs'])(
    'keeps %s',
    (path) => {
      expect(isDockerignored(dockerignore, path)).toBe(false);
    },
  );
});

describe('docker/healthcheck.mjs', () => {
  let server: Server;
  let status = 200;
  let port = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/health' ? status : 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function runCheck(env: Record<string, string>): Promise<number | null> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'docker/healthcheck.mjs')], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: 'ignore',
      });
      child.on('exit', (code) => resolve(code));
    });
  }

  it('succeeds when /health returns 200 on the port the variable names', async () => {
    status = 200;
    expect(await runCheck({ HEALTHCHECK_PORT_ENV: 'ENCODER_API_PORT', ENCODER_API_PORT: String(port), HEALTHCHECK_PORT: '1' })).toBe(0);
  });

  it('falls back to HEALTHCHECK_PORT when the variable is unset', async () => {
    status = 200;
    expect(await runCheck({ HEALTHCHECK_PORT_ENV: 'ENCODER_API_PORT', HEALTHCHECK_PORT: String(port) })).toBe(0);
  });

  it('fails when /health returns another status', async () => {
    status = 503;
    expect(await runCheck({ HEALTHCHECK_PORT: String(port) })).toBe(1);
  });

  it('fails when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await runCheck({ HEALTHCHECK_PORT: String(closedPort) })).toBe(1);
  });
});
