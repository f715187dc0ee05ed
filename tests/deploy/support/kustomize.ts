import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { parseAllDocuments, parse as parseYaml } from 'yaml';

/**
 * The subset of kustomize (v5) that the manifests under k8s/ use, implemented so that npm test can
 * build the base and the overlays without the kustomize binary:
 * - `resources`: YAML files (several documents each) and directories holding a kustomization;
 * - `namespace`: sets metadata.namespace on every resource (all castplane kinds are namespaced);
 * - `patches` with `path`: strategic merge patches matched by kind and name. Maps merge and
 *   `null` deletes a key. Lists of built-in kinds merge by their Kubernetes merge key (containers,
 *   env, volumes, volumeMounts). Lists of custom resources are replaced, because kustomize has no
 *   schema for them;
 * - `patches` with `target` (kind, optional name) and an inline JSON 6902 patch (add, replace,
 *   remove);
 * - `replicas` (name and count) and `images` (name, newName, newTag, digest) on pod templates.
 * Any other kustomization field, or a patch outside this subset, throws, so that the overlays stay
 * within what this builder reproduces exactly.
 */

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'replicas', 'patches']);

/** Merge keys of the list fields the overlays may patch in built-in kinds. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
};

const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBuiltIn(resource: Resource): boolean {
  const group = resource.apiVersion.includes('/') ? resource.apiVersion.split('/')[0] : '';
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

/** Parses every non-empty YAML document of a file into a resource. */
export function readResources(file: string): Resource[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'));
  const resources: Resource[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
    const value = document.toJS() as Resource | null;
    if (value === null) continue;
    if (!value.kind || !value.apiVersion || !value.metadata?.name) {
      throw new Error(`${file}: a document lacks apiVersion, kind or metadata.name`);
    }
    resources.push(value);
  }
  return resources;
}

function mergeList(target: Json[], patch: Json[], key: string, builtIn: boolean): Json[] {
  const merged = [...target];
  for (const item of patch) {
    if (!isObject(item) || item[key] === undefined) throw new Error(`patch list item without merge key "${key}"`);
    const index = merged.findIndex((existing) => isObject(existing) && existing[key] === item[key]);
    if (index === -1) merged.push(item);
    else merged[index] = strategicMerge(merged[index] as JsonObject, item, builtIn);
  }
  return merged;
}

/** Applies a strategic merge patch (the subset described above) and returns the result. */
export function strategicMerge(target: JsonObject, patch: JsonObject, builtIn: boolean): JsonObject {
  const result: JsonObject = { ...target };
  for (const [field, value] of Object.entries(patch)) {
    if (field.startsWith('$')) throw new Error(`patch directive ${field} is outside the supported subset`);
    if (value === null) {
      delete result[field];
    } else if (Array.isArray(value)) {
      const current = result[field];
      if (!builtIn) {
        result[field] = value;
      } else if (MERGE_KEYS[field] && Array.isArray(current)) {
        result[field] = mergeList(current, value, MERGE_KEYS[field], builtIn);
      } else if (MERGE_KEYS[field] && current === undefined) {
        result[field] = value;
      } else {
        throw new Error(`patching the list "${field}" of a built-in kind is outside the supported subset`);
      }
    } else if (isObject(value) && isObject(result[field])) {
      result[field] = strategicMerge(result[field] as JsonObject, value, builtIn);
    } else {
      result[field] = value;
    }
  }
  return result;
}

function pointerSegments(path: string): string[] {
  if (!path.startsWith('/')) throw new Error(`JSON patch path must start with "/": ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

interface JsonPatchOperation {
  op: string;
  path: string;
  value?: Json;
}

/** Applies JSON 6902 add, replace and remove operations in place. */
export function applyJsonPatch(target: JsonObject, operations: JsonPatchOperation[]): void {
  for (const operation of operations) {
    const segments = pointerSegments(operation.path);
    const last = segments.pop() as string;
    let parent: Json = target;
    for (const segment of segments) {
      parent = Array.isArray(parent) ? parent[Number(segment)] : isObject(parent) ? parent[segment] : null;
      if (parent === null || parent === undefined) throw new Error(`JSON patch path not found: ${operation.path}`);
    }
    if (!isObject(parent)) throw new Error(`JSON patch on arrays is outside the supported subset: ${operation.path}`);
    if (operation.op === 'add') {
      parent[last] = operation.value as Json;
    } else if (operation.op === 'replace') {
      if (!(last in parent)) throw new Error(`JSON patch replace of a missing field: ${operation.path}`);
      parent[last] = operation.value as Json;
    } else if (operation.op === 'remove') {
      if (!(last in parent)) throw new Error(`JSON patch remove of a missing field: ${operation.path}`);
      delete parent[last];
    } else {
      throw new Error(`JSON patch op "${operation.op}" is outside the supported subset`);
    }
  }
}

function findOne(resources: Resource[], kind: string, name: string): number {
  const matches = resources.flatMap((resource, index) =>
    resource.kind === kind && resource.metadata.name === name ? [index] : [],
  );
  if (matches.length !== 1) throw new Error(`patch target ${kind}/${name} matched ${matches.length} resources`);
  return matches[0];
}

interface PatchEntry {
  path?: string;
  patch?: string;
  target?: { kind?: string; name?: string };
}

function applyPatches(resources: Resource[], entries: PatchEntry[], directory: string): Resource[] {
  const result = [...resources];
  for (const entry of entries) {
    if (entry.path && !entry.target && !entry.patch) {
      for (const patch of readResources(join(directory, entry.path))) {
        const index = findOne(result, patch.kind, patch.metadata.name);
        result[index] = strategicMerge(
          result[index] as unknown as JsonObject,
          patch as unknown as JsonObject,
          isBuiltIn(result[index]),
        ) as unknown as Resource;
      }
    } else if (entry.target?.kind && entry.patch && !entry.path) {
      const operations = parseYaml(entry.patch) as JsonPatchOperation[];
      const { kind, name } = entry.target;
      const targets = result.filter((resource) => resource.kind === kind && (!name || resource.metadata.name === name));
      if (targets.length === 0) throw new Error(`patch target ${kind}/${name ?? '*'} matched no resources`);
      for (const resource of targets) applyJsonPatch(resource as unknown as JsonObject, operations);
    } else {
      throw new Error(`patch entry ${JSON.stringify(entry)} is outside the supported subset`);
    }
  }
  return result;
}

interface ImageEntry {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** Splits an image reference into name, tag and digest. */
export function parseImage(reference: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest, digest] = reference.split('@');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > slash) return { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), digest };
  return { name: withoutDigest, digest };
}

/** Returns the containers and init containers of a pod-template workload (none for other kinds). */
export function podContainers(resource: Resource): JsonObject[] {
  if (!POD_TEMPLATE_KINDS.has(resource.kind)) return [];
  const spec = (resource as unknown as { spec: { template: { spec: JsonObject } } }).spec.template.spec;
  return [...((spec.initContainers as JsonObject[]) ?? []), ...((spec.containers as JsonObject[]) ?? [])];
}

function applyImages(resources: Resource[], images: ImageEntry[]): void {
  for (const container of resources.flatMap(podContainers)) {
    const current = parseImage(String(container.image));
    const entry = images.find((image) => image.name === current.name);
    if (!entry) continue;
    const name = entry.newName ?? current.name;
    const tag = entry.newTag ?? current.tag;
    const digest = entry.digest ?? (entry.newTag ? undefined : current.digest);
    container.image = `${name}${tag && !entry.digest ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  }
}

function applyReplicas(resources: Resource[], replicas: { name: string; count: number }[]): void {
  for (const { name, count } of replicas) {
    const targets = resources.filter((resource) => POD_TEMPLATE_KINDS.has(resource.kind) && resource.metadata.name === name);
    if (targets.length === 0) throw new Error(`replicas entry ${name} matched no workload`);
    for (const target of targets) (target as unknown as { spec: JsonObject }).spec.replicas = count;
  }
}

/** Builds the kustomization in `directory` and returns its resources, as `kustomize build` would. */
export function buildKustomization(directory: string): Resource[] {
  const file = join(directory, 'kustomization.yaml');
  const kustomization = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const field of Object.keys(kustomization)) {
    if (!SUPPORTED_FIELDS.has(field)) throw new Error(`${file}: field "${field}" is outside the supported subset`);
  }

  let resources: Resource[] = [];
  for (const entry of (kustomization.resources as string[]) ?? []) {
    const path = resolve(directory, entry);
    if (!existsSync(path)) throw new Error(`${file}: resource ${entry} does not exist`);
    resources.push(...(statSync(path).isDirectory() ? buildKustomization(path) : readResources(path)));
  }
  resources = structuredClone(resources);

  resources = applyPatches(resources, (kustomization.patches as PatchEntry[]) ?? [], directory);
  const namespace = kustomization.namespace as string | undefined;
  if (namespace) {
    for (const resource of resources) resource.metadata.namespace = namespace;
  }
  applyReplicas(resources, (kustomization.replicas as { name: string; count: number }[]) ?? []);
  applyImages(resources, (kustomization.images as ImageEntry[]) ?? []);
  return resources;
}
