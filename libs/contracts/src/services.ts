/** The five services, their listeners, default ports and the variables that change them. */
export const SERVICES = {
  'srs-adapter': {
    listeners: {
      api: { port: 1985, env: 'SRS_ADAPTER_PORT', description: 'admin API and SRS callbacks' },
    },
    mediaPorts: {
      rtmp: { port: 1935, env: 'RTMP_PORT', description: 'embedded RTMP ingest' },
      http: { port: 8080, env: 'MEDIA_HTTP_PORT', description: 'embedded HLS and HTTP-FLV playback' },
    },
  },
  encoder: {
    listeners: {
      api: { port: 9001, env: 'ENCODER_API_PORT', description: 'encoder API' },
      monitoring: { port: 9002, env: 'ENCODER_MONITORING_PORT', description: 'monitoring API' },
    },
    mediaPorts: {},
  },
  'livekit-server': {
    listeners: {
      client: { port: 7880, env: 'LIVEKIT_CLIENT_PORT', description: 'signalling, tokens, Twirp' },
      admin: { port: 7881, env: 'LIVEKIT_ADMIN_PORT', description: 'admin API' },
    },
    mediaPorts: {},
  },
  'livekit-sdk': {
    listeners: {
      api: { port: 3001, env: 'LIVEKIT_SDK_API_PORT', description: 'SDK API' },
      webhooks: { port: 3002, env: 'LIVEKIT_SDK_WEBHOOK_PORT', description: 'webhook receiver' },
    },
    mediaPorts: {},
  },
  orchestrator: {
    listeners: {
      api: { port: 4000, env: 'ORCHESTRATOR_API_PORT', description: 'orchestration API' },
      health: { port: 4001, env: 'ORCHESTRATOR_HEALTH_PORT', description: 'health API' },
    },
    mediaPorts: {},
  },
} as const;

export type ServiceName = keyof typeof SERVICES;

export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];
