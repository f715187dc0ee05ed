import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { invalidArgument } from '@castplane/errors';
import { checkOutboundUrl } from '@castplane/http';
import type { OutboundPolicy } from '@castplane/http';
import type { Logger } from '@castplane/logging';

import type { StreamRecord } from './stream.store';

export interface IngestRequest {
  source?: string;
  loop: boolean;
  transcode: boolean;
}

/**
 * Pull-and-push ingests: ffmpeg reads a media URL or a file under MEDIA_ROOT and publishes it to
 * the stream's RTMP URL with the stream key, so it passes the same publish check as any encoder.
 */
export class SourceIngest {
  private readonly children = new Map<string, ChildProcess>();

  constructor(
    private readonly deps: {
      ffmpeg: string;
      mediaRoot: string;
      rtmpBase: () => string;
      logger: Logger;
      outbound: OutboundPolicy;
    },
  ) {}

  async start(stream: StreamRecord, request: IngestRequest): Promise<{ source: string; pid: number }> {
    const input = await this.checkSource(request.source ?? '');
    await this.stop(stream.id);
    const codec = request.transcode
      ? ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-c:a', 'aac', '-b:a', '128k']
      : ['-c', 'copy'];
    const child = spawn(this.deps.ffmpeg, [
      '-hide_banner', '-loglevel', 'error', '-re', ...(request.loop ? ['-stream_loop', '-1'] : []), '-i', input,
      ...codec, '-f', 'flv', `${this.deps.rtmpBase()}/${stream.app}/${stream.name}?key=${encodeURIComponent(stream.key)}`,
    ], { stdio: ['ignore', 'ignore', 'ignore'] });
    this.children.set(stream.id, child);
    child.once('exit', (code) => {
      if (this.children.get(stream.id) === child) this.children.delete(stream.id);
      this.deps.logger.info('source ingest exited', { streamId: stream.id, code });
    });
    this.deps.logger.info('source ingest started', { streamId: stream.id, pid: child.pid });
    return { source: request.source ?? '', pid: child.pid ?? 0 };
  }

  /** Stops the stream's ingest; resolves true when one was running. */
  async stop(streamId: string): Promise<boolean> {
    const child = this.children.get(streamId);
    if (!child) return false;
    this.children.delete(streamId);
    await new Promise<void>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
    return true;
  }

  async close(): Promise<void> {
    await Promise.all([...this.children.keys()].map((id) => this.stop(id)));
  }

  /**
   * Checks a source and returns ffmpeg's input: a URL whose host the outbound policy allows, or a
   * file under MEDIA_ROOT. Throws a 400 naming `body.source` otherwise.
   */
  async checkSource(source: string): Promise<string> {
    if (/^[a-z]+:\/\//.test(source)) {
      // NOTE: ffmpeg resolves the host again when it connects, so a DNS answer that changes after
      // this check (DNS rebinding) is not caught, and neither are HTTP redirects or HLS segment URLs.
      await checkOutboundUrl(source, this.deps.outbound, { field: 'body.source' });
      return source;
    }
    const file = resolve(this.deps.mediaRoot, source);
    if (!file.startsWith(`${resolve(this.deps.mediaRoot)}/`) || !existsSync(file)) {
      throw invalidArgument('source file not found under the media root', [{ field: 'body.source', message: 'not found' }]);
    }
    return file;
  }
}
