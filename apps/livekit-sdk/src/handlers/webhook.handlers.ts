import type { Request, Response } from 'express';

import type { WebhookIntake } from '../services/webhook.service';

/** Verifies and queues a webhook; `expectedEvent` is set on the per-event URLs. */
export function webhookHandler(intake: WebhookIntake, expectedEvent?: string) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const outcome = await intake.receive(body, req.headers.authorization, expectedEvent);
    res.status(outcome.status === 'accepted' ? 202 : 200).json(outcome);
  };
}
