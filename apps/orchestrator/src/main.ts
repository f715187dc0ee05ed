import { runMain } from '@castplane/http';

import { loadConfigFromEnv } from './config';
import { startOrchestrator } from './service';

runMain('orchestrator', () => startOrchestrator(loadConfigFromEnv(process.env)));
