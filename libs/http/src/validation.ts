import type { NextFunction, Request, Response } from 'express';
import type Joi from 'joi';

import { AppError } from '@castplane/errors';
import type { FieldError } from '@castplane/errors';

export interface RequestSchemas {
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  body?: Joi.Schema;
}

const PARTS = ['params', 'query', 'body'] as const;

/**
 * Validates `params`, `query` and `body` with joi and collects every failure into one 400 error
 * with a detail per field. Converted values are stored in `req.valid`, and the raw request stays
 * unchanged.
 */
export function validateRequest(schemas: RequestSchemas) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const failures: FieldError[] = [];
    for (const part of PARTS) {
      const schema = schemas[part];
      if (!schema) {
        req.valid[part] = part === 'body' ? req.body : { ...(req[part] as object) };
        continue;
      }
      // A request without a body leaves req.body undefined; validating {} instead makes each
      // required field fail by name rather than reaching the handler as undefined.
      const input = part === 'body' ? (req.body ?? {}) : { ...(req[part] as object) };
      const { error, value } = schema.validate(input, {
        abortEarly: false,
        convert: true,
        errors: { wrap: { label: false } },
      });
      if (error) {
        for (const detail of error.details) {
          const path = detail.path.length > 0 ? `${part}.${detail.path.join('.')}` : part;
          failures.push({ field: path, message: detail.message, type: detail.type });
        }
      } else {
        req.valid[part] = value;
      }
    }
    if (failures.length > 0) {
      const fields = [...new Set(failures.map((failure) => failure.field))].join(', ');
      next(new AppError('invalid_argument', `invalid request: ${fields}`, { details: failures }));
      return;
    }
    next();
  };
}
