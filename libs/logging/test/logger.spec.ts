import { PassThrough } from 'node:stream';

import { REDACTED, createLogger, flushLogs } from '@castplane/logging';

function capture(level: string) {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const logger = createLogger({ service: 'svc', level, version: '1.2.3', env: 'test', stream, secrets: ['configured-secret-value'] });
  const lines = () => {
    flushLogs();
    return text.split('\n').filter(Boolean);
  };
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes sorted JSON lines', () => {
    const { logger, lines } = capture('info');
    logger.info('request completed', { status: 200, method: 'GET', params: { zeta: 'z', alpha: 'a' } });
    const [line] = lines();
    expect(line).toMatch(/^\{"env":"test","level":"info","method":"GET","msg":"request completed","params":\{"alpha":"a","zeta":"z"\},"service":"svc","status":200,"time":"[^"]+","version":"1.2.3"\}$/);
  });

  it('drops entries below level', () => {
    const { logger, lines } = capture('warn');
    logger.info('not written');
    logger.debug('not written either');
    logger.warn('written');
    expect(lines().map((line) => JSON.parse(line).msg)).toEqual(['written']);
  });

  it('applies child fields and level changes', () => {
    const { logger, lines } = capture('info');
    const child = logger.child({ requestId: 'req-12345678' });
    child.debug('dropped');
    logger.level = 'debug';
    child.debug('kept');
    const entries = lines().map((line) => JSON.parse(line));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ msg: 'kept', level: 'debug', requestId: 'req-12345678' });
  });

  it('keeps reserved fields, redacts secrets', () => {
    const { logger, lines } = capture('info');
    logger.error('upstream said Bearer abc.def.ghi', {
      service: 'spoofed',
      time: 'spoofed',
      streamKey: 'sk-live-1',
      url: 'rtmp://127.0.0.1/live/cam?key=query-secret',
      note: 'contains configured-secret-value inside',
      err: new Error('failed with configured-secret-value'),
      count: BigInt(7),
    });
    const entry = JSON.parse(lines()[0]);
    expect(entry.service).toBe('svc');
    expect(entry.time).not.toBe('spoofed');
    expect(entry.msg).toBe(`upstream said Bearer ${REDACTED}`);
    expect(entry.streamKey).toBe(REDACTED);
    expect(entry.url).toBe(`rtmp://127.0.0.1/live/cam?key=${REDACTED}`);
    expect(entry.note).toBe(`contains ${REDACTED} inside`);
    expect(entry.err.message).toBe(`failed with ${REDACTED}`);
    expect(entry.count).toBe('7');
  });
});
