import type { Principal } from '@castplane/auth';
import type { Logger } from '@castplane/logging';

declare global {
  // Express merges these fields into its Request type.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Validated id of this request, echoed in `X-Request-Id` and the error envelope. */
      requestId: string;
      /** Logger with `requestId` bound. */
      log: Logger;
      principal?: Principal;
      /** Why credentials were rejected, when they were; the route decides whether that matters. */
      authError?: string;
      /** Validated and converted `params`, `query` and `body`. */
      valid: { params: any; query: any; body: any };
    }
  }
}

export {};
