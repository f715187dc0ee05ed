import { runMain } from '@castplane/http';

import { loadConfigFromEnv } from './config';
import { startSrsAdapter } from './service';

runMain('srs-adapter', () => startSrsAdapter(loadConfigFromEnv(process.env)));
