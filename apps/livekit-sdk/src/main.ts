import { runMain } from '@castplane/http';

import { loadConfigFromEnv } from './config';
import { startLivekitSdk } from './service';

runMain('livekit-sdk', () => startLivekitSdk(loadConfigFromEnv(process.env)));
