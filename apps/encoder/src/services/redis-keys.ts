import { createHash } from 'node:crypto';

/** Redis key names of the encoder, all under the deployment's key prefix. */
export function encoderKeys(prefix: string) {
  const base = `${prefix}:encoder`;
  return {
    profiles: `${base}:profiles`,
    profilesSeeded: `${base}:profiles-seeded`,
    profileRefsPrefix: `${base}:profile-refs:`,
    configs: `${base}:configs`,
    streams: `${base}:streams`,
    armed: `${base}:armed`,
    runs: `${base}:runs`,
    nextRun: `${base}:next-run`,
    live: `${base}:live`,
    settings: `${base}:settings`,
    control: `${base}:control`,
    startLock: (keyId: string) => `${base}:start-lock:${keyId}`,
    cancelled: (jobId: string) => `${base}:cancelled:${jobId}`,
    stopRequested: (jobId: string) => `${base}:stop-requested:${jobId}`,
  };
}

export type EncoderKeys = ReturnType<typeof encoderKeys>;

/**
 * Derives the public id of a stream key, used for folders, job ids and logs in place of the key.
 * NOTE: an unsalted hash; a short, guessable key could be found from its id by trying candidates.
 */
export function keyIdOf(streamKey: string): string {
  return createHash('sha256').update(streamKey).digest('hex').slice(0, 16);
}

/** Builds the `app/name` field that indexes configs and live streams. */
export function streamField(app: string, name: string): string {
  return `${app}/${name}`;
}
