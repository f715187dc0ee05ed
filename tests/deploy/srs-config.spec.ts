import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HOOK_ACTIONS, hookQuerySchema } from '../../apps/srs-adapter/src/schemas/hook.schemas';
import { hookRoutes } from '../../apps/srs-adapter/src/routes/hooks.routes';
import type { HookService } from '../../apps/srs-adapter/src/services/hook.service';
import { baseTestEnv, freePort, stopProcess, waitFor } from '@castplane/testing';

import { ROOT, listenerPorts, readRepoFile } from './support/repo';
import { findDirective, parseSrsConfig } from './support/srs-conf';

const PLACEHOLDER = '__SRS_CALLBACK_SECRET__';
const CALLBACKS = ['on_publish', 'on_unpublish', 'on_play', 'on_stop', 'on_dvr'];
const template = readRepoFile('docker/srs/srs.conf');
const config = parseSrsConfig(template);

/** Runs render-config.sh --render-only with `env` and returns the exit status, stderr and output. */
function render(env: Record<string, string>): { status: number | null; stderr: string; output?: string } {
  const directory = mkdtempSync(join(tmpdir(), 'castplane-srs-'));
  try {
    const outputFile = join(directory, 'srs.conf');
    const result = spawnSync('sh', [join(ROOT, 'docker/srs/render-config.sh'), '--render-only'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        SRS_CONFIG_TEMPLATE: join(ROOT, 'docker/srs/srs.conf'),
        SRS_CONFIG_OUTPUT: outputFile,
        ...env,
      },
      encoding: 'utf8',
    });
    const output = existsSync(outputFile) ? readFileSync(outputFile, 'utf8') : undefined;
    return { status: result.status, stderr: result.stderr, output };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function callbackUrl(action: string): URL {
  const directive = findDirective(config, 'vhost', 'http_hooks', action);
  if (!directive) throw new Error(`srs.conf has no http_hooks ${action}`);
  return new URL(directive.args[0]);
}

describe('srs.conf callbacks', () => {
  const adapterRoutes = hookRoutes({} as HookService, 'unused').map((route) => `${route.method} ${route.path}`);
  const secretParameters = Object.keys((hookQuerySchema.describe() as { keys: Record<string, unknown> }).keys);

  it('enables http_hooks on the default vhost', () => {
    const vhost = findDirective(config, 'vhost');
    expect(vhost?.args).toEqual(['__defaultVhost__']);
    expect(findDirective(config, 'vhost', 'http_hooks', 'enabled')?.args).toEqual(['on']);
  });

  it.each(CALLBACKS)('%s targets an srs-adapter callback route', (action) => {
    expect(HOOK_ACTIONS).toContain(action);
    const url = callbackUrl(action);
    expect(url.protocol).toBe('http:');
    expect(url.hostname).toBe('srs-adapter');
    expect(Number(url.port)).toBe(listenerPorts('srs-adapter').get('api'));
    expect(adapterRoutes).toContain(`post ${url.pathname}`);
  });

  it.each(CALLBACKS)('%s carries the secret in the adapter query parameter', (action) => {
    const query = callbackUrl(action).searchParams;
    expect(secretParameters).toEqual(['secret']);
    expect([...query.keys()]).toEqual(secretParameters);
    expect(query.get(secretParameters[0])).toBe(PLACEHOLDER);
  });

  it('listens on the ports srs-adapter and the manifests use', () => {
    expect(findDirective(config, 'listen')?.args).toEqual(['1935']);
    expect(findDirective(config, 'http_api', 'enabled')?.args).toEqual(['on']);
    expect(findDirective(config, 'http_api', 'listen')?.args).toEqual(['1985']);
    expect(findDirective(config, 'http_server', 'enabled')?.args).toEqual(['on']);
    expect(findDirective(config, 'http_server', 'listen')?.args).toEqual(['8080']);
  });

  it('serves HLS from the directory it writes, on the media volume', () => {
    const hlsPath = findDirective(config, 'vhost', 'hls', 'hls_path')?.args[0];
    expect(findDirective(config, 'vhost', 'hls', 'enabled')?.args).toEqual(['on']);
    expect(hlsPath).toBe(findDirective(config, 'http_server', 'dir')?.args[0]);
    expect(hlsPath?.startsWith('/media/')).toBe(true);
  });

  it('records DVR files on the media volume', () => {
    const dvrPath = findDirective(config, 'vhost', 'dvr', 'dvr_path')?.args[0];
    expect(dvrPath?.startsWith('/media/dvr/')).toBe(true);
  });

  it('keeps runtime files under /tmp', () => {
    expect(findDirective(config, 'pid')?.args[0]).toMatch(/^\/tmp\//);
    expect(findDirective(config, 'daemon')?.args).toEqual(['off']);
    expect(findDirective(config, 'srs_log_tank')?.args).toEqual(['console']);
  });

  it('contains the placeholder only in callback URLs', () => {
    const lines = template.split('\n').filter((line) => line.includes(PLACEHOLDER));
    expect(lines).toHaveLength(CALLBACKS.length);
    for (const line of lines) expect(line.trim()).toMatch(/^on_[a-z]+\s+http:\/\//);
  });
});

describe('render-config.sh', () => {
  it('writes the secret into every callback URL', () => {
    const result = render({ SRS_CALLBACK_SECRET: 'abcDEF0123456789_-.~' });
    expect(result.status).toBe(0);
    expect(result.output).toBeDefined();
    const rendered = parseSrsConfig(result.output ?? '');
    for (const action of CALLBACKS) {
      const url = new URL(findDirective(rendered, 'vhost', 'http_hooks', action)?.args[0] ?? '');
      expect(url.searchParams.get('secret')).toBe('abcDEF0123456789_-.~');
    }
    expect(result.output).not.toContain(PLACEHOLDER);
  });

  it('reads the secret from SRS_CALLBACK_SECRET_FILE', () => {
    const directory = mkdtempSync(join(tmpdir(), 'castplane-srs-secret-'));
    try {
      const file = join(directory, 'secret');
      writeFileSync(file, 'fromfile0123456789\n');
      const result = render({ SRS_CALLBACK_SECRET_FILE: file });
      expect(result.status).toBe(0);
      expect(result.output).toContain('?secret=fromfile0123456789;');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('rejects a secret that would need URL escaping', () => {
    const result = render({ SRS_CALLBACK_SECRET: 'has/slash&amp' });
    expect(result.status).toBe(1);
    expect(result.output).toBeUndefined();
    expect(result.stderr).toContain('SRS_CALLBACK_SECRET must contain only');
    expect(result.stderr).not.toContain('has/slash');
  });

  it('fails without a secret', () => {
    const result = render({});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('SRS_CALLBACK_SECRET or SRS_CALLBACK_SECRET_FILE is required');
  });
});

describe('rendered callback URL against srs-adapter', () => {
  const secret = 'deploy0test0secret0abcdef012345';
  let adapter: ChildProcess | undefined;
  let port = 0;
  let dataDir = '';

  beforeAll(async () => {
    const bundle = join(ROOT, 'dist/apps/srs-adapter/main.js');
    if (!existsSync(bundle)) {
      const build = spawnSync(process.execPath, ['scripts/build.mjs', 'srs-adapter'], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`building srs-adapter failed: ${build.stderr}`);
    }
    dataDir = mkdtempSync(join(tmpdir(), 'castplane-srs-adapter-'));
    port = await freePort();
    const env = baseTestEnv('deploy-srs', {
      SRS_ADAPTER_PORT: String(port),
      RTMP_PORT: String(await freePort()),
      MEDIA_HTTP_PORT: String(await freePort()),
      SRS_CALLBACK_SECRET: secret,
      MEDIA_ROOT: join(dataDir, 'media'),
      DVR_ROOT: join(dataDir, 'dvr'),
    });
    adapter = spawn(process.execPath, [bundle], { cwd: ROOT, env: { ...env, PATH: process.env.PATH }, stdio: 'ignore' });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, {
      timeoutMs: 90000,
      what: 'srs-adapter /health',
    });
  }, 120000);

  afterAll(async () => {
    if (adapter) await stopProcess(adapter, 10000);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Renders the config with `renderedSecret` and posts an on_unpublish callback to its URL. */
  async function postRendered(renderedSecret: string): Promise<number> {
    const result = render({ SRS_CALLBACK_SECRET: renderedSecret });
    const rendered = parseSrsConfig(result.output ?? '');
    const url = new URL(findDirective(rendered, 'vhost', 'http_hooks', 'on_unpublish')?.args[0] ?? '');
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        action: 'on_unpublish',
        client_id: 'deploytest1',
        ip: '127.0.0.1',
        vhost: '__defaultVhost__',
        app: 'live',
        stream: 'deploy-check',
        param: '',
        stream_url: '/live/deploy-check',
      }),
    });
    return response.status;
  }

  it('accepts the callback with the shared secret', async () => {
    const status = await postRendered(secret);
    expect(status).toBe(200);
  });

  it('rejects the callback with another secret', async () => {
    const status = await postRendered('another0secret0abcdef0123456789');
    expect(status).toBe(401);
  });
});
