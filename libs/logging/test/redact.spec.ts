import { REDACTED, redact, redactText } from '@castplane/logging';

describe('redact', () => {
  it('replaces secret fields at any depth', () => {
    const result = redact({ headers: { authorization: 'Bearer abc', 'x-api-key': 'k1' }, nested: { streamKey: 'sk' } }) as any;
    expect(result.headers.authorization).toBe(REDACTED);
    expect(result.headers['x-api-key']).toBe(REDACTED);
    expect(result.nested.streamKey).toBe(REDACTED);
  });

  it('removes keys from query strings in text', () => {
    expect(redactText('rtmp://h/live/cam1?key=secret123&foo=bar')).toBe(`rtmp://h/live/cam1?key=${REDACTED}&foo=bar`);
  });
});
