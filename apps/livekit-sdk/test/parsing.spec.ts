import { createHash } from 'node:crypto';

import { loadConfigFromEnv, signalBaseUrl } from '../src/config';
import { ClientRegistry, hashClientSecret, parseClients } from '../src/services/client-registry';
import { parseRegions } from '../src/services/region.service';

describe('parseClients', () => {
  const sha = createHash('sha256').update('s3cret').digest('hex');

  it('verifies sha256 and scrypt hashes', () => {
    const [plain, hashed] = parseClients(`web:read+write:${sha}\n# comment\nops:admin:${hashClientSecret('other')}`);

    expect(plain.scopes).toEqual(['read', 'write']);
    expect(plain.verify('s3cret')).toBe(true);
    expect(plain.verify('wrong')).toBe(false);
    expect(hashed.verify('other')).toBe(true);
    expect(hashed.verify('s3cret')).toBe(false);
  });

  it.each([
    ['a missing hash', 'web:read', /expected clientId:scopes:hash/],
    ['an unknown scope', `web:root:${sha}`, /scopes must be among/],
    ['a short hash', 'web:read:abcd', /the hash must be/],
    ['a bad client id', `w b:read:${sha}`, /expected clientId:scopes:hash/],
  ])('rejects %s', (_case, spec, message) => {
    expect(() => parseClients(spec)).toThrow(message);
  });

  it('never puts the hash in an error message', () => {
    expect(() => parseClients(`web:root:${sha}`)).toThrow(expect.objectContaining({ message: expect.not.stringContaining(sha) }));
  });

  it('rejects a client configured twice', () => {
    expect(() => ClientRegistry.load({ inline: `a:read:${sha},a:admin:${sha}`, nodeEnv: 'test' })).toThrow(/configured twice/);
  });
});

describe('ClientRegistry dev client', () => {
  it('exists outside production only', () => {
    const development = ClientRegistry.load({ inline: '', devSecret: 'dev-secret-0123456789', nodeEnv: 'development' });
    const production = ClientRegistry.load({ inline: '', devSecret: 'dev-secret-0123456789', nodeEnv: 'production' });

    expect(development.authenticate('dev', 'dev-secret-0123456789')?.scopes).toEqual(['admin']);
    expect(production.authenticate('dev', 'dev-secret-0123456789')).toBeUndefined();
  });
});

describe('parseRegions', () => {
  it('falls back to one default region', () => {
    expect(parseRegions('', 'http://127.0.0.1:7880')).toEqual([{ name: 'default', url: 'http://127.0.0.1:7880' }]);
  });

  it('reads name=url entries', () => {
    expect(parseRegions('eu=https://eu.example.test, us=wss://us.example.test', 'http://x')).toEqual([
      { name: 'eu', url: 'https://eu.example.test' },
      { name: 'us', url: 'wss://us.example.test' },
    ]);
  });

  it('rejects an entry without a name', () => {
    expect(() => parseRegions('https://eu.example.test', 'http://x')).toThrow(/expected name=url/);
  });
});

describe('signalBaseUrl', () => {
  it('derives ws and wss URLs from LIVEKIT_URL', () => {
    expect(signalBaseUrl('http://127.0.0.1:7880')).toBe('ws://127.0.0.1:7880/signal');
    expect(signalBaseUrl('https://lk.example.test/')).toBe('wss://lk.example.test/signal');
  });

  it('prefers LIVEKIT_SIGNAL_URL', () => {
    expect(signalBaseUrl('http://127.0.0.1:7880', 'wss://edge.example.test/signal/')).toBe('wss://edge.example.test/signal');
  });
});

describe('loadConfigFromEnv', () => {
  it('lists every missing secret at once without echoing values', () => {
    expect(() => loadConfigFromEnv({ SDK_DEV_CLIENT_SECRET: 'short' })).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          'AUTH_JWT_SECRET is invalid or missing',
          'LIVEKIT_API_KEY is required',
          'LIVEKIT_API_SECRET is invalid or missing',
          'SDK_DEV_CLIENT_SECRET is invalid or missing',
        ]),
      }),
    );
  });
});
