import type { Request } from 'express';

import { Joi } from '@castplane/config';
import type { AppError } from '@castplane/errors';
import { validateRequest } from '@castplane/http';

import { VALIDATION_PREFERENCES } from '../src/validation';

const OPTIONS = VALIDATION_PREFERENCES;

const SCHEMAS: Record<string, Joi.ObjectSchema> = {
  pattern: Joi.object({ id: Joi.string().pattern(/^[a-z0-9-]{1,64}$/).required() }),
  caseInsensitivePattern: Joi.object({ id: Joi.string().pattern(/^abc$/i).required() }),
  validList: Joi.object({ target: Joi.string().valid('srs', 'livekit').required() }),
  lengths: Joi.object({ key: Joi.string().min(3).max(8).required() }),
  optionalKeys: Joi.object({ a: Joi.string().length(2), b: Joi.string().pattern(/x/, { invert: true }) }),
  number: Joi.object({ n: Joi.number().integer() }),
  maxOnly: Joi.object({ id: Joi.string().max(4) }),
  trimmed: Joi.object({ id: Joi.string().trim().max(4) }),
  unknownAllowed: Joi.object({ id: Joi.string() }).unknown(),
};

const INPUTS: Record<string, unknown>[] = [
  {},
  { id: 'stream-1' },
  { id: '' },
  { id: 'NOT OK' },
  { id: 'ABC' },
  { id: ' ab ' },
  { id: 'ok', extra: 'x' },
  { id: ['a', 'b'] },
  { target: 'srs' },
  { target: 'other' },
  { key: 'ab' },
  { key: 'abcd' },
  { key: 'abcdefghi' },
  { a: 'xy' },
  { a: 'xyz', b: 'axb' },
  { b: 'abc' },
  { b: '' },
  { n: '5' },
  { n: '5.5' },
];

interface Outcome {
  value?: unknown;
  fields?: string[];
  messages?: string[];
}

function throughMiddleware(schema: Joi.ObjectSchema, input: Record<string, unknown>): Outcome {
  const req = { url: '/items', params: input, query: {}, body: undefined, valid: { params: {}, query: {}, body: undefined } };
  let failure: AppError | undefined;
  validateRequest({ params: schema })(req as unknown as Request, {} as never, (error?: unknown) => {
    failure = error as AppError | undefined;
  });
  if (!failure) return { value: req.valid.params };
  const details = failure.details as { field: string; message: string }[];
  return { fields: details.map((detail) => detail.field), messages: details.map((detail) => detail.message) };
}

function throughJoi(schema: Joi.ObjectSchema, input: Record<string, unknown>): Outcome {
  const { error, value } = schema.validate({ ...input }, OPTIONS);
  if (!error) return { value };
  return {
    fields: error.details.map((detail) => `params.${detail.path.join('.')}`),
    messages: error.details.map((detail) => detail.message),
  };
}

describe('validateRequest', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`matches joi for the ${name} schema`, () => {
      for (const input of INPUTS) {
        expect({ input, outcome: throughMiddleware(schema, input) }).toEqual({ input, outcome: throughJoi(schema, input) });
      }
    });
  }

  it("keeps a schema's own preferences", () => {
    const schema = Joi.object({ a: Joi.string().min(5), b: Joi.string().min(5) }).prefs({ abortEarly: true });
    const outcome = throughMiddleware(schema, { a: 'x', b: 'y' });
    expect(outcome.fields).toEqual(['params.a']);
  });

  it('stores a copy of params', () => {
    const params = { id: 'stream-1' };
    const req = { url: '/items', params, query: {}, body: undefined, valid: { params: {}, query: {}, body: undefined } };
    validateRequest({ params: SCHEMAS.pattern })(req as unknown as Request, {} as never, () => undefined);
    expect(req.valid.params).toEqual(params);
    expect(req.valid.params).not.toBe(params);
  });
});
