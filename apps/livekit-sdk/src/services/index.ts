import type { AnalyticsService } from './analytics.service';
import type { AuthService } from './auth.service';
import type { RegionService } from './region.service';
import type { RoomService } from './room.service';
import type { SettingsService } from './settings.service';
import type { StreamService } from './stream.service';
import type { TokenService } from './token.service';
import type { WebhookIntake } from './webhook.service';

/** The services the route handlers call. */
export interface AppServices {
  auth: AuthService;
  streams: StreamService;
  rooms: RoomService;
  tokens: TokenService;
  settings: SettingsService;
  regions: RegionService;
  analytics: AnalyticsService;
  webhooks: WebhookIntake;
}
