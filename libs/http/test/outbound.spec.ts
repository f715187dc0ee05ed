import { AppError } from '@castplane/errors';

import { checkOutboundUrl, parseHostList } from '../src/outbound';
import type { LookupFunction, OutboundPolicy, ResolvedAddress } from '../src/outbound';

const FIELD = 'body.source';

/** Builds a resolver with fixed answers, so no test depends on real DNS except for `localhost`. */
function fixedLookup(answers: Record<string, ResolvedAddress[]>): LookupFunction {
  return async (host) => {
    const found = answers[host];
    if (found) return found;
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };
}

const lookup = fixedLookup({
  'camera.example': [{ address: '192.168.1.20', family: 4 }],
  'media.example': [{ address: '203.0.113.7', family: 4 }],
  'metadata.example': [{ address: '169.254.169.254', family: 4 }],
  'loop.example': [{ address: '127.0.0.2', family: 4 }],
  'mixed.example': [
    { address: '203.0.113.8', family: 4 },
    { address: '::1', family: 6 },
  ],
  'mapped.example': [{ address: '::ffff:169.254.169.254', family: 6 }],
});

function policy(allowed?: string, extra: Partial<OutboundPolicy> = {}): OutboundPolicy {
  return { allowList: parseHostList(allowed), setting: 'TEST_ALLOWED_HOSTS', ...extra };
}

async function rejection(url: string, rules: OutboundPolicy): Promise<AppError> {
  try {
    await checkOutboundUrl(url, rules, { field: FIELD, lookup });
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`expected ${url} to be rejected`);
}

function allows(url: string, rules: OutboundPolicy): Promise<void> {
  return checkOutboundUrl(url, rules, { field: FIELD, lookup });
}

describe('parseHostList', () => {
  it('reads names, addresses, ranges and the wildcard', () => {
    const list = parseHostList(' Camera.Example. , 10.1.2.3, 192.168.0.0/16, [fd00::1], fe80::/10, * ');

    expect(list.any).toBe(true);
    expect(list.size).toBe(5);
    expect([...list.names]).toEqual(['camera.example']);
    expect(list.addresses.check('10.1.2.3', 'ipv4')).toBe(true);
    expect(list.addresses.check('192.168.40.1', 'ipv4')).toBe(true);
    expect(list.addresses.check('fd00::1', 'ipv6')).toBe(true);
    expect(list.addresses.check('fe80::abcd', 'ipv6')).toBe(true);
    expect(list.addresses.check('10.1.2.4', 'ipv4')).toBe(false);
  });

  it('returns an empty list for an unset or blank value', () => {
    for (const value of [undefined, '', ' , ']) {
      const list = parseHostList(value);

      expect(list.any).toBe(false);
      expect(list.size).toBe(0);
    }
  });

  it.each([
    ['10.0.0.0/33', /invalid CIDR range "10.0.0.0\/33"/],
    ['fd00::/129', /invalid CIDR range/],
    ['nothost/8', /invalid CIDR range/],
    ['10.0.0.0/', /invalid CIDR range/],
    ['camera.example:1935', /invalid host "camera.example:1935"/],
    ['camera example', /invalid host "camera example"/],
    ['-camera.example', /invalid host/],
  ])('rejects the entry %s', (entry, message) => {
    expect(() => parseHostList(entry)).toThrow(message);
  });
});

describe('checkOutboundUrl with the default policy', () => {
  it.each([
    'rtmp://203.0.113.7/live/cam',
    'rtsp://camera.example:554/stream',
    'http://10.0.0.5/feed.flv',
    'srt://172.16.4.4:9000?streamid=cam',
    'https://[2001:db8::1]/live.m3u8',
    'rtmp://[fc00::5]/live/cam',
  ])('allows %s', async (url) => {
    await expect(allows(url, policy())).resolves.toBeUndefined();
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'link-local or cloud metadata'],
    ['http://[fd00:ec2::254]/latest/meta-data/', 'link-local or cloud metadata'],
    ['http://[fe80::1]/', 'link-local or cloud metadata'],
    ['rtmp://127.0.0.1:1935/live/x', 'loopback'],
    ['rtmp://127.9.9.9/live/x', 'loopback'],
    ['rtmp://[::1]:1935/live/x', 'loopback'],
    ['rtmp://[::ffff:127.0.0.1]/live/x', 'loopback'],
    ['http://[::ffff:a9fe:a9fe]/', 'link-local or cloud metadata'],
    ['http://0.0.0.0:8080/', 'unspecified'],
    ['http://[::]:8080/', 'unspecified'],
    ['srt://239.1.1.1:9000', 'multicast'],
    ['srt://[ff02::1]:9000', 'multicast'],
    ['http://255.255.255.255/', 'broadcast'],
  ])('rejects %s as %s', async (url, kind) => {
    const error = await rejection(url, policy());

    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_argument');
    expect(error.message).toContain(kind);
    expect(error.details).toEqual([{ field: FIELD, message: expect.stringContaining(kind) }]);
  });

  it('rejects a name that resolves to the metadata endpoint', async () => {
    const error = await rejection('http://metadata.example/latest/', policy());

    expect(error.message).toContain('host metadata.example is not allowed');
  });

  it('rejects a name when one of its addresses is blocked', async () => {
    const error = await rejection('rtmp://mixed.example/live/x', policy());

    expect(error.message).toContain('loopback');
  });

  it('rejects a name that resolves to an IPv4-mapped metadata address', async () => {
    const error = await rejection('http://mapped.example/', policy());

    expect(error.message).toContain('link-local');
  });

  it('rejects localhost through real resolution', async () => {
    const check = checkOutboundUrl('rtmp://localhost:1935/live/x', { allowList: parseHostList() }, { field: FIELD });
    const error = (await check.catch((caught: unknown) => caught)) as AppError;

    expect(error).toBeInstanceOf(AppError);
    expect(error.message).toMatch(/host localhost is not allowed: it resolves to a loopback address$/);
  });

  it('names the setting that allows a host', async () => {
    const error = await rejection('rtmp://127.0.0.1/live/x', policy());

    expect(error.message).toContain('An operator can allow it in TEST_ALLOWED_HOSTS');
  });

  it('keeps credentials and stream keys out of the error', async () => {
    const error = await rejection('rtmp://user:hunter2@127.0.0.1/live/cam?key=sk_secret_value', policy());
    const text = JSON.stringify({ message: error.message, details: error.details });

    expect(text).toContain('127.0.0.1');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('sk_secret_value');
  });

  it('rejects a name that does not resolve with 400', async () => {
    const error = await rejection('rtmp://missing.example/live/x', policy());

    expect(error.status).toBe(400);
    expect(error.details).toEqual([{ field: FIELD, message: 'host missing.example does not resolve to an address' }]);
  });

  it('returns 503 when resolution fails for another reason', async () => {
    const failing: LookupFunction = async () => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    };
    const error = await checkOutboundUrl('rtmp://camera.example/live', policy(), { field: FIELD, lookup: failing }).catch((caught: AppError) => caught);

    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(503);
  });

  it('returns 503 when resolution times out', async () => {
    const hanging: LookupFunction = () => new Promise(() => undefined);
    const error = await checkOutboundUrl('rtmp://camera.example/live', policy(), { field: FIELD, lookup: hanging, lookupTimeoutMs: 50 }).catch((caught: AppError) => caught);

    expect((error as AppError).status).toBe(503);
    expect((error as AppError).message).toContain('camera.example');
  });
});

describe('checkOutboundUrl with an allow list', () => {
  it('allows a listed loopback address', async () => {
    await expect(allows('rtmp://127.0.0.1:1935/live/x', policy('127.0.0.1'))).resolves.toBeUndefined();
  });

  it('allows a listed name that resolves to loopback', async () => {
    await expect(allows('rtmp://loop.example/live/x', policy('loop.example'))).resolves.toBeUndefined();
  });

  it('allows an address inside a listed range', async () => {
    await expect(allows('rtmp://camera.example/live/x', policy('192.168.0.0/16'))).resolves.toBeUndefined();
  });

  it('rejects a public host that is not listed', async () => {
    const error = await rejection('rtmp://media.example/live/x', policy('camera.example,10.0.0.0/8'));

    expect(error.message).toContain('is not in the allow list');
  });

  it('rejects the metadata endpoint through a listed name', async () => {
    const error = await rejection('http://metadata.example/', policy('metadata.example'));

    expect(error.message).toContain('link-local');
  });

  it('allows the metadata endpoint only when its address is listed', async () => {
    await expect(allows('http://169.254.169.254/', policy('169.254.169.254'))).resolves.toBeUndefined();
    await expect(allows('http://metadata.example/', policy('169.254.0.0/16'))).resolves.toBeUndefined();
  });

  it('allows loopback with the wildcard', async () => {
    await expect(allows('rtmp://127.0.0.1/live/x', policy('*'))).resolves.toBeUndefined();
    await expect(allows('rtmp://media.example/live/x', policy('*'))).resolves.toBeUndefined();
  });

  it('rejects link-local with the wildcard', async () => {
    const error = await rejection('http://169.254.169.254/', policy('*'));

    expect(error.message).toContain('link-local');
  });
});

describe('checkOutboundUrl with always-allowed hosts', () => {
  const mediaServer = { alwaysAllowed: parseHostList('loop.example') };

  it('allows the always-allowed host', async () => {
    await expect(allows('rtmp://loop.example/live/x', policy(undefined, mediaServer))).resolves.toBeUndefined();
  });

  it('keeps the default policy for other hosts', async () => {
    await expect(allows('rtmp://media.example/live/x', policy(undefined, mediaServer))).resolves.toBeUndefined();
    const error = await rejection('rtmp://127.0.0.1/live/x', policy(undefined, mediaServer));

    expect(error.message).toContain('loopback');
  });

  it('allows the always-allowed host beside an allow list', async () => {
    await expect(allows('rtmp://loop.example/live/x', policy('camera.example', mediaServer))).resolves.toBeUndefined();
  });
});
