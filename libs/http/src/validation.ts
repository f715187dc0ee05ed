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

/** The joi options of every request check. */
export const VALIDATION_PREFERENCES: Joi.ValidationOptions = {
  abortEarly: false,
  convert: true,
  errors: { wrap: { label: false } },
  // joi's own pattern messages quote the rejected value, which may be a token or a key.
  messages: {
    'string.pattern.base': '{{#label}} does not match the required pattern',
    'string.pattern.name': '{{#label}} does not match the {{#name}} pattern',
    'string.pattern.invert.base': '{{#label}} matches a pattern it must not match',
    'string.pattern.invert.name': '{{#label}} matches the {{#name}} pattern, which it must not',
  },
};

type Check = (input: unknown) => Joi.ValidationResult;
type StringTest = (value: string) => boolean;

interface Description {
  type?: string;
  keys?: Record<string, Description>;
  flags?: Record<string, unknown>;
  rules?: { name: string; args?: Record<string, unknown> }[];
  allow?: unknown[];
  [other: string]: unknown;
}

const LENGTH_RULES: Record<string, (limit: number) => StringTest> = {
  min: (limit) => (value) => value.length >= limit,
  max: (limit) => (value) => value.length <= limit,
  length: (limit) => (value) => value.length === limit,
};

function onlyKeys(value: object | undefined, allowed: readonly string[]): boolean {
  return Object.keys(value ?? {}).every((key) => allowed.includes(key));
}

/** Returns a RegExp from the `/source/flags` text that `describe()` writes for a pattern rule. */
function regexOf(text: unknown): RegExp | undefined {
  const parts = typeof text === 'string' ? /^\/(.*)\/([a-z]*)$/s.exec(text) : null;
  return parts ? new RegExp(parts[1], parts[2]) : undefined;
}

function ruleTest(rule: { name: string; args?: Record<string, unknown> }): StringTest | undefined {
  const args = rule.args ?? {};
  if (rule.name in LENGTH_RULES) {
    return onlyKeys(args, ['limit']) && typeof args.limit === 'number' ? LENGTH_RULES[rule.name](args.limit) : undefined;
  }
  if (rule.name !== 'pattern' || !onlyKeys(args, ['regex', 'options'])) return undefined;
  const options = (args.options ?? {}) as { invert?: boolean };
  const regex = regexOf(args.regex);
  if (!regex || !onlyKeys(options, ['invert', 'name'])) return undefined;
  return options.invert ? (value) => !regex.test(value) : (value) => regex.test(value);
}

/** Returns a test for a plain `Joi.string()` key with only length, pattern or `valid()` rules. */
function stringTest(key: Description): StringTest | undefined {
  const flags = key.flags ?? {};
  if (key.type !== 'string' || !onlyKeys(key, ['type', 'flags', 'rules', 'allow'])) return undefined;
  if (!onlyKeys(flags, ['presence', 'only', 'label', 'description'])) return undefined;
  if (flags.presence !== undefined && flags.presence !== 'required' && flags.presence !== 'optional') return undefined;
  if (key.allow) {
    const valid = key.allow;
    const plain = flags.only === true && !key.rules && valid.every((item) => typeof item === 'string');
    return plain ? (value) => valid.includes(value) : undefined;
  }
  if (flags.only !== undefined) return undefined;
  const tests = (key.rules ?? []).map(ruleTest);
  if (tests.some((test) => !test)) return undefined;
  // Joi.string() rejects the empty string unless it is allowed.
  return (value) => value !== '' && tests.every((test) => (test as StringTest)(value));
}

/**
 * Compiles an object schema whose keys are all plain strings, checked only by length, pattern or
 * a list of valid values, into a check without joi, for path params such as `{ id:
 * Joi.string().pattern(...).required() }`. The check returns true only for input that joi would
 * accept unchanged, and any other input goes to joi, which writes the error details. Other
 * schemas return undefined.
 */
function compileStringKeys(schema: Joi.Schema): ((input: Record<string, unknown>) => boolean) | undefined {
  const description = schema.describe() as Description;
  if (description.type !== 'object' || !description.keys || !onlyKeys(description, ['type', 'keys'])) return undefined;
  const keys = Object.entries(description.keys).map(([name, key]) => ({
    name,
    required: key.flags?.presence === 'required',
    test: stringTest(key),
  }));
  if (keys.some((key) => !key.test)) return undefined;
  const names = keys.map((key) => key.name);

  return (input) => {
    for (const name of Object.keys(input)) {
      if (!names.includes(name)) return false;
    }
    for (const key of keys) {
      const value = input[key.name];
      if (value === undefined) {
        if (key.required) return false;
      } else if (typeof value !== 'string' || !(key.test as StringTest)(value)) {
        return false;
      }
    }
    return true;
  };
}

/**
 * Returns a joi validation function with {@link VALIDATION_PREFERENCES} attached to the schema once. Joi
 * merges preferences given to `validate` on every call, but caches those set on the schema, which
 * measured about half the time for a one-key params schema (joi 18.3). A schema that sets its own top-level preferences gets them
 * per call instead, because `prefs()` would let ours override them where per-call options do not.
 */
function withJoi(schema: Joi.Schema): Check {
  if (schema.describe().preferences) return (input) => schema.validate(input, VALIDATION_PREFERENCES);
  const withPreferences = schema.prefs(VALIDATION_PREFERENCES);
  return (input) => withPreferences.validate(input);
}

/**
 * Returns the check of params or query. Their input is already a copy, so an input that the
 * string-keys check accepts is returned as the value without calling joi.
 */
function compileCopied(schema: Joi.Schema): Check {
  const validate = withJoi(schema);
  const accepts = compileStringKeys(schema);
  if (!accepts) return validate;
  return (input) => (accepts(input as Record<string, unknown>) ? { error: undefined, value: input } : validate(input));
}

/** Returns `req.query`, without running the query parser for a URL that has no query string. */
function queryOf(req: Request): object {
  return req.url.includes('?') ? req.query : {};
}

/**
 * Validates `params`, `query` and `body` with joi and collects every failure into one 400 error
 * with a detail per field. Converted values are stored in `req.valid`, and the raw request stays
 * unchanged.
 */
export function validateRequest(schemas: RequestSchemas) {
  const checks = {
    params: schemas.params && compileCopied(schemas.params),
    query: schemas.query && compileCopied(schemas.query),
    body: schemas.body && withJoi(schemas.body),
  };
  return (req: Request, _res: Response, next: NextFunction): void => {
    const failures: FieldError[] = [];
    for (const part of PARTS) {
      const check = checks[part];
      if (!check) {
        req.valid[part] = part === 'body' ? req.body : { ...(part === 'query' ? queryOf(req) : req.params) };
        continue;
      }
      // A request without a body leaves req.body undefined; validating {} instead makes each
      // required field fail by name rather than reaching the handler as undefined.
      const input = part === 'body' ? (req.body ?? {}) : { ...(part === 'query' ? queryOf(req) : req.params) };
      const { error, value } = check(input);
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
