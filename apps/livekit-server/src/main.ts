import { runMain } from '@castplane/http';

import { loadConfigFromEnv } from './config';
import { startLivekitServer } from './service';

runMain('livekit-server', () => startLivekitServer(loadConfigFromEnv(process.env)));
