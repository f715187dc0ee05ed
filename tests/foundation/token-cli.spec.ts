import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { verifyServiceToken } from '@castplane/auth';
import { TEST_JWT_SECRET } from '@castplane/testing';

const root = join(__dirname, '..', '..');

describe('npm run token', () => {
  it('prints exactly one token with the requested scope', async () => {
    const out = execFileSync('npm', ['run', '--silent', 'token', '--', '--scope', 'admin'], {
      cwd: root,
      env: { ...process.env, AUTH_JWT_SECRET: TEST_JWT_SECRET },
      encoding: 'utf8',
    });
    const lines = out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const result = await verifyServiceToken(lines[0], { secret: TEST_JWT_SECRET, issuer: 'castplane' });
    expect(result).toMatchObject({ ok: true, scopes: ['admin'], sub: 'local-operator' });
  });

  it('prints usage for --help', () => {
    const result = spawnSync('node', ['scripts/token.mjs', '--help'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run --silent token/);
    expect(result.stdout).toMatch(/--ttl/);
  });

  it('rejects an unknown scope with a message and exit code 2', () => {
    const result = spawnSync('node', ['scripts/token.mjs', '--scope', 'root'], {
      cwd: root,
      env: { ...process.env, AUTH_JWT_SECRET: TEST_JWT_SECRET },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/unknown scope root/);
  });
});
