import { ConfigError } from '@castplane/config';

import { loadConfigFromEnv, webhookUrls } from '../src/config';

const BASE = { AUTH_JWT_SECRET: 'a'.repeat(40), LIVEKIT_API_KEY: 'APIconfig', LIVEKIT_API_SECRET: 'b'.repeat(40) };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfigFromEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('livekit-server config', () => {
  it('applies the documented defaults', () => {
    const config = loadConfigFromEnv(BASE);
    expect(config.LIVEKIT_CLIENT_PORT).toBe(7880);
    expect(config.LIVEKIT_ADMIN_PORT).toBe(7881);
    expect(config.LIVEKIT_DUPLICATE_IDENTITY).toBe('replace');
    expect(config.LIVEKIT_CLOCK_SKEW_SECONDS).toBe(60);
    expect(config.LIVEKIT_NODE_TIMEOUT_MS).toBe(30000);
    expect(webhookUrls(config)).toEqual(['http://127.0.0.1:3002/webhooks/livekit']);
  });

  it('requires the API key and secret', () => {
    const found = problems({ AUTH_JWT_SECRET: 'a'.repeat(40) });
    expect(found).toContain('LIVEKIT_API_KEY is required');
    expect(found).toContain('LIVEKIT_API_SECRET is invalid or missing');
  });

  it('splits webhook URLs and allows none', () => {
    expect(webhookUrls(loadConfigFromEnv({ ...BASE, LIVEKIT_WEBHOOK_URLS: 'http://a/hook, https://b/hook' }))).toEqual([
      'http://a/hook',
      'https://b/hook',
    ]);
    expect(webhookUrls(loadConfigFromEnv({ ...BASE, LIVEKIT_WEBHOOK_URLS: '' }))).toEqual([]);
  });

  it('rejects a node timeout outside 1000-600000 ms', () => {
    for (const value of ['999', '600001', 'soon']) {
      const found = problems({ ...BASE, LIVEKIT_NODE_TIMEOUT_MS: value });
      expect(found.some((problem) => problem.startsWith('LIVEKIT_NODE_TIMEOUT_MS'))).toBe(true);
    }
    expect(loadConfigFromEnv({ ...BASE, LIVEKIT_NODE_TIMEOUT_MS: '1000' }).LIVEKIT_NODE_TIMEOUT_MS).toBe(1000);
  });

  it('rejects invalid values with their names', () => {
    const found = problems({ ...BASE, LIVEKIT_WEBHOOK_URLS: 'ftp://a/hook', LIVEKIT_DUPLICATE_IDENTITY: 'keep' });
    expect(found).toContain('LIVEKIT_WEBHOOK_URLS must be a comma-separated list of http(s) URLs');
    expect(found.some((problem) => problem.startsWith('LIVEKIT_DUPLICATE_IDENTITY'))).toBe(true);
  });
});
