import { verifyServiceToken } from '@castplane/auth';
import { TEST_ISSUER, TEST_JWT_SECRET } from '@castplane/testing';

import { SOURCE_TOKEN_TTL_SECONDS, appendTokenParam, authorizeSource, isMediaServerSource, redactSourceText } from '../src/jobs/source-token';

const MEDIA = 'rtmp://127.0.0.1:1935';
const options = { mediaRtmpUrl: MEDIA, secret: TEST_JWT_SECRET, issuer: TEST_ISSUER };

describe('isMediaServerSource', () => {
  it.each([
    ['a stream under the base', `${MEDIA}/live/cam`, true],
    ['a stream with a query', `${MEDIA}/live/cam?quality=high`, true],
    ['the base alone', `${MEDIA}/`, false],
    ['another port that starts with the same digits', 'rtmp://127.0.0.1:19350/live/cam', false],
    ['another host after user info', 'rtmp://127.0.0.1:1935@example.com/live/cam', false],
    ['another host', 'rtmp://example.com:1935/live/cam', false],
    ['a file', 'file:///srv/media/cam.mp4', false],
  ])('matches %s: %s', (_case, source, expected) => {
    expect(isMediaServerSource(source, MEDIA)).toBe(expected);
  });

  it('ignores a trailing slash on the base', () => {
    expect(isMediaServerSource(`${MEDIA}/live/cam`, `${MEDIA}/`)).toBe(true);
  });
});

describe('appendTokenParam', () => {
  it.each([
    ['no query', `${MEDIA}/live/cam`, `${MEDIA}/live/cam?token=abc.def.ghi`],
    ['an existing query', `${MEDIA}/live/cam?quality=high`, `${MEDIA}/live/cam?quality=high&token=abc.def.ghi`],
    ['an empty query', `${MEDIA}/live/cam?`, `${MEDIA}/live/cam?token=abc.def.ghi`],
    ['a query ending in &', `${MEDIA}/live/cam?a=1&`, `${MEDIA}/live/cam?a=1&token=abc.def.ghi`],
    ['a fragment', `${MEDIA}/live/cam?a=1#part`, `${MEDIA}/live/cam?a=1&token=abc.def.ghi#part`],
  ])('appends to a URL with %s', (_case, url, expected) => {
    expect(appendTokenParam(url, 'abc.def.ghi')).toBe(expected);
  });

  it('keeps a token the URL already has', () => {
    const url = `${MEDIA}/live/cam?token=operator-token&a=1`;

    expect(appendTokenParam(url, 'abc.def.ghi')).toBe(url);
  });
});

describe('authorizeSource', () => {
  it('adds a read token for the encoder to a media-server source', async () => {
    const before = Math.floor(Date.now() / 1000);

    const authorized = await authorizeSource(`${MEDIA}/live/cam?quality=high`, options);

    expect(authorized.token).toEqual(expect.any(String));
    expect(authorized.url).toBe(`${MEDIA}/live/cam?quality=high&token=${authorized.token}`);
    const verified = await verifyServiceToken(authorized.token!, { secret: TEST_JWT_SECRET, issuer: TEST_ISSUER });
    expect(verified).toMatchObject({ ok: true, sub: 'encoder', scopes: ['read'] });
    const expiresAt = verified.ok ? verified.expiresAt : 0;
    expect(expiresAt).toBeGreaterThanOrEqual(before + SOURCE_TOKEN_TTL_SECONDS);
    expect(expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + SOURCE_TOKEN_TTL_SECONDS);
  });

  it('gives a later call a later expiry', async () => {
    const source = `${MEDIA}/live/cam`;
    const first = await authorizeSource(source, options);
    // Expiry has a resolution of one second.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const second = await authorizeSource(source, options);

    const [firstResult, secondResult] = await Promise.all(
      [first, second].map((item) => verifyServiceToken(item.token!, { secret: TEST_JWT_SECRET, issuer: TEST_ISSUER })),
    );
    expect(firstResult.ok).toBe(true);
    expect(secondResult.ok).toBe(true);
    const expiries = [firstResult, secondResult].map((result) => (result.ok ? result.expiresAt : 0));
    expect(expiries[1]).toBeGreaterThan(expiries[0]);
  });

  it('leaves other sources unchanged', async () => {
    const source = 'rtmp://camera.example.com/live/cam?key=abc';

    const authorized = await authorizeSource(source, options);

    expect(authorized).toEqual({ url: source });
  });

  it('adds nothing when the source has a token', async () => {
    const source = `${MEDIA}/live/cam?token=operator-token`;

    const authorized = await authorizeSource(source, options);

    expect(authorized).toEqual({ url: source });
  });
});

describe('redactSourceText', () => {
  it('removes the added token wherever it appears', async () => {
    const authorized = await authorizeSource(`${MEDIA}/live/cam`, options);
    const line = `${authorized.url}: Input/output error (playpath cam ${authorized.token})`;

    const redacted = redactSourceText(line, authorized);

    expect(redacted).not.toContain(authorized.token);
    expect(redacted).toContain(`${MEDIA}/live/cam?token=[redacted]`);
  });

  it('removes a token the shared patterns miss', () => {
    const authorized = { url: `${MEDIA}/live/cam?token=opaque-token-value`, token: 'opaque-token-value' };

    expect(redactSourceText('reading opaque-token-value failed', authorized)).toBe('reading [redacted] failed');
  });
});
