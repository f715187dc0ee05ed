import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { baseTestEnv, freePort, stopProcess, waitFor } from '@castplane/testing';

import { ROOT, SERVICE_NAMES, SERVICES, generateSecrets, listenerEnv, schemaVariables } from './support/repo';
import type { ServiceName } from './support/repo';

/**
 * Starts each app's bundle, as the images run it, and requests the probe paths that the
 * manifests and the image health check use on every listener.
 */
describe.each(SERVICE_NAMES)('%s probe paths', (app: ServiceName) => {
  const ports = new Map<string, number>();
  let child: ChildProcess | undefined;
  let dataDir = '';

  beforeAll(async () => {
    const bundle = join(ROOT, 'dist/apps', app, 'main.js');
    if (!existsSync(bundle)) {
      const build = spawnSync(process.execPath, ['scripts/build.mjs', app], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`building ${app} failed: ${build.stderr}`);
    }
    dataDir = mkdtempSync(join(tmpdir(), `castplane-probe-${app}-`));

    const env: Record<string, string> = { ...generateSecrets() };
    for (const [listener, variable] of listenerEnv(app)) {
      const port = await freePort();
      ports.set(listener, port);
      env[variable] = String(port);
    }
    // Media ports of the embedded srs-adapter bind too, so they must not collide.
    for (const media of Object.values(SERVICES[app].mediaPorts as Record<string, { env: string }>)) {
      env[media.env] = String(await freePort());
    }
    for (const name of schemaVariables(app).keys()) {
      if (/_(ROOT|DIR)$/.test(name)) env[name] = join(dataDir, name.toLowerCase());
    }

    child = spawn(process.execPath, [bundle], {
      cwd: ROOT,
      env: { ...baseTestEnv(`probe-${app}`, env), PATH: process.env.PATH },
      stdio: 'ignore',
    });
    const first = [...ports.values()][0];
    await waitFor(async () => (await fetch(`http://127.0.0.1:${first}/health`)).status === 200, {
      timeoutMs: 90000,
      what: `${app} /health`,
    });
  }, 120000);

  afterAll(async () => {
    if (child) await stopProcess(child, 15000);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30000);

  it('serves /health on every listener', async () => {
    for (const [listener, port] of ports) {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      expect([listener, response.status]).toEqual([listener, 200]);
    }
  });

  it('serves /ready on every listener', async () => {
    for (const [listener, port] of ports) {
      const response = await fetch(`http://127.0.0.1:${port}/ready`);
      expect([listener, [200, 503].includes(response.status)]).toEqual([listener, true]);
      expect(response.headers.get('content-type')).toContain('application/json');
    }
  });
});
