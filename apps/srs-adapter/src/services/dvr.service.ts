import { rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';

import type { Logger } from '@castplane/logging';

import type { StreamService } from './stream.service';
import type { StreamStore } from './stream.store';

/** The recordings index: what was recorded per stream, and deleting it with its files. */
export class DvrService {
  constructor(
    private readonly deps: { store: StreamStore; streams: StreamService; dvrRoot: string; logger: Logger },
  ) {}

  async summaries() {
    const ids = await this.deps.store.allIds();
    const result = [];
    for (const id of ids) {
      const [stream, recordings] = await Promise.all([this.deps.store.get(id), this.deps.store.recordings(id)]);
      if (!stream || recordings.length === 0) continue;
      result.push({
        streamId: id,
        app: stream.app,
        name: stream.name,
        files: recordings.length,
        durationSeconds: Math.round(recordings.reduce((sum, item) => sum + (item.durationSeconds ?? 0), 0) * 100) / 100,
        bytes: recordings.reduce((sum, item) => sum + item.bytes, 0),
        recordings,
      });
    }
    return { streams: result };
  }

  /** Deletes the stream's recordings; only files under DVR_ROOT are removed from disk. */
  async remove(streamId: string): Promise<{ streamId: string; deletedFiles: number }> {
    await this.deps.streams.require(streamId);
    const recordings = await this.deps.store.recordings(streamId);
    const root = resolve(this.deps.dvrRoot);
    let deletedFiles = 0;
    for (const recording of recordings) {
      const path = resolve(recording.file);
      const inside = relative(root, path);
      if (inside.startsWith('..') || isAbsolute(inside)) continue;
      await rm(path, { force: true });
      deletedFiles += 1;
    }
    await this.deps.store.clearRecordings(streamId);
    this.deps.logger.info('recordings deleted', { streamId, deletedFiles });
    return { streamId, deletedFiles };
  }
}
