import type Joi from 'joi';

import type { RouteDefinition } from './routes';

type JsonSchema = Record<string, unknown>;

interface Description {
  type: string;
  flags?: Record<string, unknown>;
  keys?: Record<string, Description>;
  items?: Description[];
  matches?: { schema?: Description; then?: Description; otherwise?: Description }[];
  rules?: { name: string; args?: Record<string, unknown> }[];
  allow?: unknown[];
  metas?: Record<string, unknown>[];
}

function regexSource(value: unknown): string | undefined {
  if (value instanceof RegExp) return value.source;
  if (typeof value === 'string') return value.replace(/^\/(.*)\/[a-z]*$/, '$1');
  return undefined;
}

/** Returns the JSON Schema keyword for joi's `min`/`max` on strings, arrays or numbers. */
function boundName(bound: 'min' | 'max', type: string): string {
  if (type === 'string') return bound === 'min' ? 'minLength' : 'maxLength';
  if (type === 'array') return bound === 'min' ? 'minItems' : 'maxItems';
  return bound === 'min' ? 'minimum' : 'maximum';
}

function applyRules(schema: JsonSchema, description: Description, isString: boolean): void {
  for (const rule of description.rules ?? []) {
    const limit = rule.args?.limit;
    switch (rule.name) {
      case 'min':
        schema[boundName('min', description.type)] = limit;
        break;
      case 'max':
        schema[boundName('max', description.type)] = limit;
        break;
      case 'length':
        if (isString) Object.assign(schema, { minLength: limit, maxLength: limit });
        break;
      case 'greater':
        schema.exclusiveMinimum = limit;
        break;
      case 'less':
        schema.exclusiveMaximum = limit;
        break;
      case 'integer':
        schema.type = 'integer';
        break;
      case 'pattern':
        schema.pattern = regexSource(rule.args?.regex);
        break;
      case 'uri':
        schema.format = 'uri';
        break;
      case 'email':
        schema.format = 'email';
        break;
      case 'guid':
        schema.format = 'uuid';
        break;
      case 'isoDate':
        schema.format = 'date-time';
        break;
      case 'port':
        Object.assign(schema, { type: 'integer', minimum: 0, maximum: 65535 });
        break;
    }
  }
}

/** Converts a joi description to an OpenAPI 3.0 schema object. */
export function describeToSchema(description: Description): JsonSchema {
  const schema: JsonSchema = {};
  const flags = description.flags ?? {};

  switch (description.type) {
    case 'object': {
      schema.type = 'object';
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const [name, child] of Object.entries(description.keys ?? {})) {
        if (child.flags?.presence === 'forbidden') continue;
        properties[name] = describeToSchema(child);
        if (child.flags?.presence === 'required') required.push(name);
      }
      if (description.keys) schema.properties = properties;
      if (required.length > 0) schema.required = required;
      schema.additionalProperties = description.keys ? flags.unknown === true : true;
      break;
    }
    case 'array':
      schema.type = 'array';
      schema.items = description.items?.[0] ? describeToSchema(description.items[0]) : {};
      break;
    case 'alternatives': {
      const options = (description.matches ?? [])
        .flatMap((match) => [match.schema, match.then, match.otherwise])
        .filter((item): item is Description => item !== undefined)
        .map(describeToSchema);
      schema.oneOf = options;
      break;
    }
    case 'number':
      schema.type = 'number';
      break;
    case 'boolean':
      schema.type = 'boolean';
      break;
    case 'date':
      Object.assign(schema, { type: 'string', format: 'date-time' });
      break;
    case 'binary':
      Object.assign(schema, { type: 'string', format: 'binary' });
      break;
    case 'string':
      schema.type = 'string';
      break;
    default:
      break;
  }
  applyRules(schema, description, description.type === 'string');

  const allowed = (description.allow ?? []).filter((value) => value !== null && value !== '');
  if (flags.only && allowed.length > 0) schema.enum = allowed;
  if ((description.allow ?? []).includes(null)) schema.nullable = true;
  if (flags.description) schema.description = flags.description;
  if (flags.default !== undefined && typeof flags.default !== 'function') schema.default = flags.default;
  return schema;
}

export function joiToSchema(schema: Joi.Schema): JsonSchema {
  return describeToSchema(schema.describe() as Description);
}

function parameters(route: RouteDefinition): JsonSchema[] {
  const result: JsonSchema[] = [];
  for (const location of ['params', 'query'] as const) {
    const schema = route.validate?.[location];
    if (!schema) continue;
    const described = joiToSchema(schema);
    const required = new Set((described.required as string[] | undefined) ?? []);
    for (const [name, property] of Object.entries((described.properties as Record<string, JsonSchema>) ?? {})) {
      result.push({
        name,
        in: location === 'params' ? 'path' : 'query',
        required: location === 'params' ? true : required.has(name),
        schema: property,
      });
    }
  }
  return result;
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['code', 'message', 'requestId'],
  properties: {
    code: { type: 'string', description: 'stable lower_snake error code' },
    message: { type: 'string' },
    requestId: { type: 'string' },
    details: {},
  },
};

/** Builds the OpenAPI 3 document of one listener from the same route table that serves it. */
export function buildOpenApi(info: { title: string; version: string }, routes: readonly RouteDefinition[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: route.tags ? [...route.tags] : undefined,
      parameters: parameters(route),
      responses: {
        ...Object.fromEntries(
          Object.entries(route.responses ?? { 200: { description: 'OK' } }).map(([status, response]) => [
            status,
            {
              description: response.description,
              content: response.schema
                ? { 'application/json': { schema: joiToSchema(response.schema) } }
                : undefined,
            },
          ]),
        ),
        default: {
          description: 'error envelope',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
    if (route.validate?.body) {
      const contentType = route.bodyType === 'multipart' ? 'multipart/form-data' : 'application/json';
      operation.requestBody = {
        required: true,
        content: { [contentType]: { schema: joiToSchema(route.validate.body) } },
      };
    }
    if (route.auth !== 'none') {
      operation.security = [{ bearer: [] }, { apiKey: [] }];
      operation['x-scope'] = route.auth;
    }
    paths[path] = { ...paths[path], [route.method]: operation };
  }
  return {
    openapi: '3.0.3',
    info,
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}
