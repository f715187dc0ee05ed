import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError, baseEnvSchema, describeConfig, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';
import { tempDir } from '@castplane/testing';

const SECRETS = ['AUTH_JWT_SECRET', 'API_KEYS'];

describe('loadConfig', () => {
  it('reports every invalid or missing variable in one error', () => {
    let caught: unknown;
    try {
      loadConfig<BaseConfig>(baseEnvSchema, { RATE_LIMIT_MAX: '0', REDIS_URL: 'http://x', LOG_LEVEL: 'loud' }, SECRETS);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).toMatch(/AUTH_JWT_SECRET/);
    expect(problems).toMatch(/RATE_LIMIT_MAX/);
    expect(problems).toMatch(/REDIS_URL/);
    expect(problems).toMatch(/LOG_LEVEL/);
  });

  it('never echoes the value of an invalid secret', () => {
    expect(() => loadConfig(baseEnvSchema, { AUTH_JWT_SECRET: 'short-secret-value' }, SECRETS)).toThrow(
      /AUTH_JWT_SECRET is invalid or missing/,
    );
    try {
      loadConfig(baseEnvSchema, { AUTH_JWT_SECRET: 'short-secret-value' }, SECRETS);
    } catch (error) {
      expect((error as Error).message).not.toContain('short-secret-value');
    }
  });

  it('reads a secret from a mounted file named by <NAME>_FILE', () => {
    const dir = tempDir('config');
    try {
      const file = join(dir.path, 'jwt');
      writeFileSync(file, 'x'.repeat(40) + '\n');
      const config = loadConfig<BaseConfig>(baseEnvSchema, { AUTH_JWT_SECRET_FILE: file }, SECRETS);
      expect(config.AUTH_JWT_SECRET).toBe('x'.repeat(40));
      expect(Object.isFrozen(config)).toBe(true);
    } finally {
      dir.cleanup();
    }
  });

  it('reports an unreadable secret file', () => {
    expect(() => loadConfig(baseEnvSchema, { AUTH_JWT_SECRET_FILE: '/nonexistent/secret' }, SECRETS)).toThrow(
      /AUTH_JWT_SECRET_FILE: cannot read \/nonexistent\/secret \(ENOENT\)/,
    );
  });

  it('applies defaults for the listener-independent settings', () => {
    const config = loadConfig<BaseConfig>(baseEnvSchema, { AUTH_JWT_SECRET: 'y'.repeat(32) }, SECRETS);
    expect(config).toMatchObject({ RATE_LIMIT_MAX: 1000, BODY_LIMIT: '1mb', HOST: '127.0.0.1', NODE_ENV: 'production' });
  });
});

describe('describeConfig', () => {
  it('replaces secrets for the startup log line', () => {
    const shown = describeConfig({ AUTH_JWT_SECRET: 'z'.repeat(32), API_KEYS: '', HOST: '127.0.0.1' }, SECRETS);
    expect(shown).toEqual({ AUTH_JWT_SECRET: '[set]', API_KEYS: '[unset]', HOST: '127.0.0.1' });
  });
});
