import type { Request, Response } from 'express';

import type { AuthService } from '../services/auth.service';

function bearer(req: Request): string | undefined {
  return /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
}

export function authHandlers(auth: AuthService) {
  return {
    async login(req: Request, res: Response): Promise<void> {
      const { clientId, clientSecret } = req.valid.body as { clientId: string; clientSecret: string };
      res.setHeader('Cache-Control', 'no-store');
      res.json(await auth.login(clientId, clientSecret));
    },

    async refresh(req: Request, res: Response): Promise<void> {
      res.setHeader('Cache-Control', 'no-store');
      res.json(await auth.refresh((req.valid.body as { refreshToken: string }).refreshToken));
    },

    async logout(req: Request, res: Response): Promise<void> {
      const { refreshToken } = req.valid.body as { refreshToken?: string };
      const token = req.principal?.kind === 'jwt' ? bearer(req) : undefined;
      res.json(await auth.logout(token, refreshToken));
    },
  };
}

/** Rejects a bearer token whose session was revoked, after the signature and scope checks. */
export function requireLiveSession(auth: AuthService) {
  return async (req: Request, _res: Response, next: (error?: unknown) => void): Promise<void> => {
    const token = req.principal?.kind === 'jwt' ? bearer(req) : undefined;
    if (token) await auth.assertLive(token);
    next();
  };
}
