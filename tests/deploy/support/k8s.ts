import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import type { Resource } from './kustomize';
import { ROOT } from './repo';

export interface ValidationResult {
  index: number;
  kind: string;
  name: string;
  status: 'valid' | 'invalid' | 'unknown';
  message?: string;
}

/** Validates resources with kubernetes-models in a child process (the package is ESM-only). */
export function validateWithSchemas(resources: Resource[]): ValidationResult[] {
  const result = spawnSync(process.execPath, [join(ROOT, 'tests/deploy/support/validate-k8s.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(resources),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`validate-k8s.mjs failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ValidationResult[];
}

/** Manifests are plain parsed YAML; the checks below read them without full Kubernetes typings. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

export function findResource(resources: Resource[], kind: string, name: string): Any {
  const found = resources.find((resource) => resource.kind === kind && resource.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is missing`);
  return found;
}

export function podSpec(workload: Any): Any {
  return workload.spec.template.spec;
}

export function podLabels(workload: Any): Record<string, string> {
  return workload.spec.template.metadata.labels ?? {};
}

/** True when every label of `selector` is on `labels` (matchLabels semantics). */
export function matchesLabels(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}

export interface EnvResolution {
  values: Record<string, string>;
  literalNames: string[];
  secretRefs: { name: string; secret: string; key: string; optional: boolean }[];
  configMapNames: string[];
}

/**
 * Resolves a container's environment as the kubelet would: ConfigMaps from envFrom, then env
 * entries. Secret references take their values from `secrets` (skipped when absent and optional).
 */
export function resolveEnv(resources: Resource[], container: Any, secrets: Record<string, string>): EnvResolution {
  const values: Record<string, string> = {};
  const literalNames: string[] = [];
  const secretRefs: EnvResolution['secretRefs'] = [];
  const configMapNames: string[] = [];
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) throw new Error(`container ${container.name}: only configMapRef is expected in envFrom`);
    configMapNames.push(source.configMapRef.name);
    Object.assign(values, findResource(resources, 'ConfigMap', source.configMapRef.name).data);
  }
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) {
      literalNames.push(entry.name);
      values[entry.name] = String(entry.value);
    } else if (entry.valueFrom?.secretKeyRef) {
      const ref = entry.valueFrom.secretKeyRef;
      secretRefs.push({ name: entry.name, secret: ref.name, key: ref.key, optional: ref.optional === true });
      if (secrets[ref.key] !== undefined) values[entry.name] = secrets[ref.key];
    } else if (entry.valueFrom?.configMapKeyRef) {
      const ref = entry.valueFrom.configMapKeyRef;
      configMapNames.push(ref.name);
      values[entry.name] = findResource(resources, 'ConfigMap', ref.name).data[ref.key];
    } else {
      throw new Error(`container ${container.name}: env ${entry.name} has an unexpected source`);
    }
  }
  return { values, literalNames, secretRefs, configMapNames };
}

/** Mount paths a container can write to (volume mounts that are not read-only). */
export function writableMounts(container: Any): string[] {
  return (container.volumeMounts ?? []).filter((mount: Any) => mount.readOnly !== true).map((mount: Any) => mount.mountPath);
}

export function isUnder(path: string, directory: string): boolean {
  return path === directory || path.startsWith(`${directory.replace(/\/$/, '')}/`);
}
