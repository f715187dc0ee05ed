import { runMain } from '@castplane/http';

import { loadConfigFromEnv } from './config';
import { startEncoder } from './service';

runMain('encoder', () => startEncoder(loadConfigFromEnv(process.env)));
