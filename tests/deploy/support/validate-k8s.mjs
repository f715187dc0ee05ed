// Validates Kubernetes resources against the API schemas bundled in kubernetes-models (offline).
// Input on stdin: a JSON array of resources. Output on stdout: a JSON array with one entry per
// resource, {index, kind, name, status: "valid" | "invalid" | "unknown", message?}. "unknown" means
// that kubernetes-models has no model for the apiVersion and kind (custom resources).
//
// The bundled validators check types and required fields but accept unknown fields, so a misspelt
// field would pass silently. This script also walks each resource along the TypeScript interfaces
// that kubernetes-models ships (its .d.ts files) and reports fields that the API does not define.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nodeModules = join(dirname(fileURLToPath(import.meta.url)), '../../../node_modules');
const interfaces = new Map();

function modulePath(apiVersion) {
  return apiVersion.includes('/') ? `kubernetes-models/${apiVersion}` : `kubernetes-models/v1`;
}

/** Resolves an import specifier of a .d.ts file to the .d.ts file it names. */
function resolveDeclaration(fromFile, specifier) {
  const withoutExtension = specifier.replace(/\.js$/, '');
  const file = specifier.startsWith('.')
    ? join(dirname(fromFile), `${withoutExtension}.d.ts`)
    : join(nodeModules, `${withoutExtension}.d.ts`);
  return existsSync(file) ? file : undefined;
}

/**
 * Parses the first exported interface of a kubernetes-models .d.ts file into its property names
 * and, per property, the .d.ts file of the property's interface type (undefined for scalars,
 * maps and inline types).
 */
function loadInterface(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  const text = readFileSync(file, 'utf8');
  const imports = new Map();
  for (const match of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) imports.set(match[1], match[2]);

  const start = text.search(/^export interface \w+/m);
  const end = text.indexOf('\n}', start);
  const body = start === -1 ? '' : text.slice(start, end);
  const properties = new Map();
  for (const match of body.matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) {
    const type = match[2].replace(/^Array<(.+)>$/, '$1');
    const specifier = imports.get(type);
    properties.set(match[1], specifier ? resolveDeclaration(file, specifier) : undefined);
  }
  if (/^export interface \w+ extends TypeMeta/m.test(body)) {
    properties.set('apiVersion', undefined);
    properties.set('kind', undefined);
  }
  const shape = { properties };
  interfaces.set(file, shape);
  return shape;
}

/** Returns the paths of fields in `value` that the interface in `file` does not define. */
function unknownFields(value, file, path) {
  if (Array.isArray(value)) return value.flatMap((item, index) => unknownFields(item, file, `${path}[${index}]`));
  if (typeof value !== 'object' || value === null) return [];
  const { properties } = loadInterface(file);
  if (properties.size === 0) return [];
  const problems = [];
  for (const [key, child] of Object.entries(value)) {
    if (!properties.has(key)) {
      problems.push(`${path}.${key}`);
      continue;
    }
    const childFile = properties.get(key);
    if (childFile) problems.push(...unknownFields(child, childFile, `${path}.${key}`));
  }
  return problems;
}

function modelDeclaration(resource) {
  const folder = resource.apiVersion.includes('/') ? resource.apiVersion : 'v1';
  return resolveDeclaration(join(nodeModules, 'kubernetes-models', folder, 'index.d.ts'), `./${resource.kind}.js`);
}

const resources = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const [index, resource] of resources.entries()) {
  const base = { index, kind: resource.kind, name: resource.metadata?.name };
  let Model;
  try {
    const models = await import(modulePath(resource.apiVersion));
    Model = models[resource.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== 'function') {
    results.push({ ...base, status: 'unknown' });
    continue;
  }
  try {
    new Model(resource).validate();
    const declaration = modelDeclaration(resource);
    const unknown = declaration ? unknownFields(resource, declaration, resource.kind) : [];
    if (unknown.length > 0) throw new Error(`unknown fields: ${unknown.join(', ')}`);
    if (!declaration) throw new Error(`no type declaration found for ${resource.apiVersion} ${resource.kind}`);
    results.push({ ...base, status: 'valid' });
  } catch (error) {
    results.push({ ...base, status: 'invalid', message: error instanceof Error ? error.message : String(error) });
  }
}
process.stdout.write(JSON.stringify(results));
