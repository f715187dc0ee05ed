import { join } from 'node:path';

import { TRANSCODE_QUEUE } from '../../apps/encoder/src/jobs/transcode.queue';

import type { Any } from './support/k8s';
import {
  findResource,
  isUnder,
  matchesLabels,
  podLabels,
  podSpec,
  resolveEnv,
  validateWithSchemas,
  writableMounts,
} from './support/k8s';
import type { Resource } from './support/kustomize';
import { buildKustomization, parseImage } from './support/kustomize';
import {
  APP_CONFIGS,
  ROOT,
  SERVICE_NAMES,
  generateSecrets,
  hostPorts,
  isKnownVariable,
  listenerEnv,
  listenerPorts,
  parseEnvFile,
  readRepoFile,
  schemaVariables,
  validateAppEnv,
} from './support/repo';
import type { ServiceName } from './support/repo';

const BUILDS: Record<string, { resources: Resource[]; namespace?: string }> = {
  base: { resources: buildKustomization(join(ROOT, 'k8s/base')) },
  dev: { resources: buildKustomization(join(ROOT, 'k8s/overlays/dev')), namespace: 'castplane-dev' },
  prod: { resources: buildKustomization(join(ROOT, 'k8s/overlays/prod')), namespace: 'castplane' },
};
const BUILD_NAMES = Object.keys(BUILDS);
const SECRET_NAME = 'castplane-secrets';
const SECRET_KEYS = Object.keys(parseEnvFile(readRepoFile('k8s/secrets.example.env')));
const GENERATED_SECRETS = generateSecrets();
const API_SERVICES: ServiceName[] = ['srs-adapter', 'livekit-server', 'livekit-sdk', 'orchestrator'];

function appContainer(resources: Resource[], app: ServiceName): Any {
  const container = podSpec(findResource(resources, 'Deployment', app)).containers.find((item: Any) => item.name === app);
  if (!container) throw new Error(`Deployment ${app} has no container named ${app}`);
  return container;
}

function appEnv(resources: Resource[], app: ServiceName) {
  return resolveEnv(resources, appContainer(resources, app), GENERATED_SECRETS);
}

/** Returns the value the app runs with: the manifest's, else the schema default. */
function effective(resources: Resource[], app: ServiceName, name: string): unknown {
  return appEnv(resources, app).values[name] ?? schemaVariables(app).get(name)?.default;
}

function preStopSeconds(container: Any): number {
  const command: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
  return command[0] === 'sleep' ? Number(command[1]) : 0;
}

/** Checks the fields KEDA requires, because kubernetes-models has no schema for this custom resource. */
function scaledObjectProblems(scaledObject: Any): string[] {
  const problems: string[] = [];
  const spec = scaledObject.spec ?? {};
  if (scaledObject.apiVersion !== 'keda.sh/v1alpha1') problems.push('apiVersion must be keda.sh/v1alpha1');
  if (!spec.scaleTargetRef?.name) problems.push('spec.scaleTargetRef.name is required');
  if (!Array.isArray(spec.triggers) || spec.triggers.length === 0) problems.push('spec.triggers must not be empty');
  for (const trigger of spec.triggers ?? []) {
    if (trigger.type !== 'redis') problems.push(`trigger ${trigger.name}: type must be redis`);
    for (const field of ['address', 'listName', 'listLength']) {
      if (typeof trigger.metadata?.[field] !== 'string') problems.push(`trigger ${trigger.name}: metadata.${field} must be a string`);
    }
  }
  for (const field of ['minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod']) {
    if (spec[field] !== undefined && !Number.isInteger(spec[field])) problems.push(`spec.${field} must be an integer`);
  }
  return problems;
}

const validationCache = new Map<string, ReturnType<typeof validateWithSchemas>>();

/** Schema validation of one build, run once per build because each run starts a process. */
function validationOf(buildName: string) {
  if (!validationCache.has(buildName)) validationCache.set(buildName, validateWithSchemas(BUILDS[buildName].resources));
  return validationCache.get(buildName) ?? [];
}

describe.each(BUILD_NAMES)('kustomize build %s', (buildName) => {
  const { resources, namespace } = BUILDS[buildName];

  it('validates built-in resources against schemas', () => {
    const results = validationOf(buildName);
    const invalid = results.filter((result) => result.status === 'invalid');
    expect(invalid).toEqual([]);
    expect(results).toHaveLength(resources.length);
  }, 120000);

  it('leaves only the ScaledObject unschematized', () => {
    const unknown = validationOf(buildName).filter((result) => result.status === 'unknown');
    expect(unknown.map((result) => `${result.kind}/${result.name}`)).toEqual(['ScaledObject/encoder']);
    expect(scaledObjectProblems(findResource(resources, 'ScaledObject', 'encoder'))).toEqual([]);
  });

  it('names each resource of a kind once', () => {
    const ids = resources.map((resource) => `${resource.kind}/${resource.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('puts every resource in the overlay namespace', () => {
    for (const resource of resources) expect(resource.metadata.namespace).toBe(namespace);
  });

  it('commits no Secret', () => {
    expect(resources.filter((resource) => resource.kind === 'Secret')).toEqual([]);
  });

  it('pins images outside base placeholders', () => {
    for (const workload of resources.filter((resource) => ['Deployment', 'StatefulSet'].includes(resource.kind))) {
      for (const container of [...(podSpec(workload).initContainers ?? []), ...podSpec(workload).containers]) {
        const image = parseImage(container.image);
        const ownImage = SERVICE_NAMES.some((app) => image.name.endsWith(`castplane/${app}`));
        if (buildName === 'base' && ownImage) continue;
        expect(image.tag ?? image.digest).toBeDefined();
        expect(image.tag).not.toBe('latest');
      }
    }
  });
});

describe('schema validation', () => {
  it('reports an invalid container port', () => {
    const broken = structuredClone(findResource(BUILDS.base.resources, 'Deployment', 'encoder'));
    podSpec(broken).containers[0].ports[0].containerPort = 'api';
    const [result] = validateWithSchemas([broken]);
    expect(result.status).toBe('invalid');
    expect(result.message).toContain('containerPort');
  });

  it('reports a misspelt field', () => {
    const broken = structuredClone(findResource(BUILDS.base.resources, 'Deployment', 'encoder'));
    podSpec(broken).containers[0].readinesProbe = podSpec(broken).containers[0].readinessProbe;
    podSpec(broken).containers[0].resources.limit = { cpu: '1' };
    const [result] = validateWithSchemas([broken]);
    expect(result.status).toBe('invalid');
    expect(result.message).toContain('containers[0].readinesProbe');
    expect(result.message).toContain('containers[0].resources.limit');
  });

  it('reports a missing required field', () => {
    const broken = structuredClone(findResource(BUILDS.base.resources, 'Service', 'encoder'));
    delete broken.spec.ports[0].port;
    const [result] = validateWithSchemas([broken]);
    expect(result.status).toBe('invalid');
  });
});

describe.each(BUILD_NAMES.flatMap((build) => SERVICE_NAMES.map((app) => [build, app] as const)))(
  '%s %s workload',
  (buildName, app) => {
    const { resources } = BUILDS[buildName];
    const deployment = findResource(resources, 'Deployment', app);
    const container = appContainer(resources, app);
    const service = findResource(resources, 'Service', app);

    it('declares a container port per listener', () => {
      const declared = new Map(container.ports.map((port: Any) => [port.name, port.containerPort]));
      expect(declared).toEqual(listenerPorts(app));
    });

    it('matches port variables to container ports', () => {
      const env = appEnv(resources, app).values;
      for (const [listener, variable] of listenerEnv(app)) {
        expect(Number(env[variable] ?? schemaVariables(app).get(variable)?.default)).toBe(listenerPorts(app).get(listener));
      }
    });

    it('exposes every listener on its Service', () => {
      const ports = new Map(service.spec.ports.map((port: Any) => [port.name, port.port]));
      expect(ports).toEqual(listenerPorts(app));
      for (const port of service.spec.ports) expect(port.targetPort).toBe(port.name);
      expect(matchesLabels(service.spec.selector, podLabels(deployment))).toBe(true);
    });

    it('probes /health and /ready', () => {
      const listeners = [...listenerPorts(app).keys()];
      for (const probe of [container.livenessProbe, container.startupProbe]) {
        expect(probe.httpGet.path).toBe('/health');
        expect(listeners).toContain(probe.httpGet.port);
      }
      expect(container.readinessProbe.httpGet.path).toBe('/ready');
      expect(listeners).toContain(container.readinessProbe.httpGet.port);
    });

    it('sets CPU and memory requests and limits', () => {
      for (const bound of ['requests', 'limits']) {
        expect(container.resources?.[bound]?.cpu).toBeDefined();
        expect(container.resources?.[bound]?.memory).toBeDefined();
      }
    });

    it('runs as a non-root user on a read-only root filesystem', () => {
      const pod = podSpec(deployment);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(container.securityContext.capabilities.drop).toEqual(['ALL']);
      expect(writableMounts(container)).toContain('/tmp');
      const tmp = pod.volumes.find((volume: Any) => volume.name === container.volumeMounts.find((mount: Any) => mount.mountPath === '/tmp').name);
      expect(tmp.emptyDir).toBeDefined();
    });

    it('keeps every data directory on a writable volume', () => {
      const directories = [...schemaVariables(app).keys()].filter((name) => /_(ROOT|DIR)$/.test(name));
      for (const name of directories) {
        const value = String(effective(resources, app, name));
        expect(value.startsWith('/')).toBe(true);
        expect(writableMounts(container).some((mount) => isUnder(value, mount))).toBe(true);
      }
    });

    it('allows graceful shutdown to finish before the kill', () => {
      const shutdownMs = Number(effective(resources, app, 'SHUTDOWN_TIMEOUT_MS'));
      const graceMs = podSpec(deployment).terminationGracePeriodSeconds * 1000;
      expect(graceMs).toBeGreaterThan(shutdownMs + preStopSeconds(container) * 1000);
    });

    it('uses only variables of the app config schema', () => {
      const env = appEnv(resources, app);
      const names = [...Object.keys(env.values), ...env.secretRefs.map((ref) => ref.name)];
      expect(names.filter((name) => !isKnownVariable(app, name))).toEqual([]);
    });

    it('takes secrets only from the castplane Secret', () => {
      const env = appEnv(resources, app);
      const secretNames = new Set<string>([...APP_SECRETS(app), ...SECRET_KEYS]);
      expect(env.literalNames.filter((name) => secretNames.has(name))).toEqual([]);
      for (const ref of env.secretRefs) {
        expect(ref.secret).toBe(SECRET_NAME);
        expect(SECRET_KEYS).toContain(ref.key);
      }
    });

    it('provides every required variable', () => {
      const env = appEnv(resources, app);
      const provided = new Set([...Object.keys(env.values), ...env.secretRefs.filter((ref) => !ref.optional).map((ref) => ref.name)]);
      const missing = [...schemaVariables(app)].filter(([name, spec]) => spec.required && !provided.has(name)).map(([name]) => name);
      expect(missing).toEqual([]);
    });

    it('passes config validation with generated secrets', () => {
      expect(validateAppEnv(app, appEnv(resources, app).values)).toEqual([]);
    });

    it('listens on all pod addresses', () => {
      expect(appEnv(resources, app).values.HOST).toBe('0.0.0.0');
    });

    it('points service URLs at the right ports', () => {
      const ports = hostPorts();
      for (const [name, value] of Object.entries(appEnv(resources, app).values)) {
        if (!/^[a-z]+:\/\//.test(value)) continue;
        const url = new URL(value);
        const known = ports.get(url.hostname);
        if (!known) continue;
        expect([name, known.includes(Number(url.port))]).toEqual([name, true]);
      }
    });
  },
);

function APP_SECRETS(app: ServiceName): readonly string[] {
  return APP_CONFIGS[app].SECRETS;
}

describe.each(BUILD_NAMES)('%s Redis and SRS', (buildName) => {
  const { resources, namespace } = BUILDS[buildName];

  it('persists Redis with AOF on a volume', () => {
    const redis = findResource(resources, 'StatefulSet', 'redis');
    const container = podSpec(redis).containers[0];
    const args: string[] = container.args;
    expect(args[args.indexOf('--appendonly') + 1]).toBe('yes');
    expect(args[args.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    const dataMount = container.volumeMounts.find((mount: Any) => mount.mountPath === args[args.indexOf('--dir') + 1]);
    expect(redis.spec.volumeClaimTemplates.map((claim: Any) => claim.metadata.name)).toContain(dataMount.name);
    expect(parseImage(container.image).tag).toMatch(/^7\.\d+\.\d+/);
  });

  it('points REDIS_URL at the Redis Service', () => {
    const url = new URL(findResource(resources, 'ConfigMap', 'castplane-config').data.REDIS_URL);
    const service = findResource(resources, 'Service', url.hostname);
    expect(service.spec.ports.map((port: Any) => port.port)).toContain(Number(url.port));
    expect(matchesLabels(service.spec.selector, podLabels(findResource(resources, 'StatefulSet', 'redis')))).toBe(true);
  });

  it('runs SRS 6 with the rendered config', () => {
    const srs = findResource(resources, 'Deployment', 'srs');
    const container = podSpec(srs).containers[0];
    expect(container.image).toMatch(/^ossrs\/srs:v6\.0\.\d+$/);
    expect(container.command).toEqual(['/bin/sh', '/etc/srs/render-config.sh']);
    const secretRef = container.env.find((entry: Any) => entry.name === 'SRS_CALLBACK_SECRET').valueFrom.secretKeyRef;
    expect(secretRef).toEqual({ name: SECRET_NAME, key: 'SRS_CALLBACK_SECRET' });
    expect(podSpec(srs).securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('ships verbatim copies of the docker SRS files', () => {
    const configMap = findResource(resources, 'ConfigMap', 'srs-config');
    expect(configMap.data['srs.conf']).toBe(readRepoFile('docker/srs/srs.conf'));
    expect(configMap.data['render-config.sh']).toBe(readRepoFile('docker/srs/render-config.sh'));
  });

  it('exposes only RTMP and HTTP publicly', () => {
    const service = findResource(resources, 'Service', 'srs-media');
    expect(service.spec.ports.map((port: Any) => port.port).sort()).toEqual([1935, 8080]);
  });

  it('routes SRS_API_URL to the SRS API', () => {
    const url = new URL(appEnv(resources, 'srs-adapter').values.SRS_API_URL);
    const service = findResource(resources, 'Service', url.hostname);
    expect(service.spec.ports.map((port: Any) => port.port)).toContain(Number(url.port));
    const ports = podSpec(findResource(resources, 'Deployment', 'srs')).containers[0].ports.map((port: Any) => port.containerPort);
    expect(ports.sort()).toEqual([1935, 1985, 8080]);
  });

  it('shares one ReadWriteMany media volume', () => {
    const claim = findResource(resources, 'PersistentVolumeClaim', 'castplane-media');
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    for (const name of ['srs', 'srs-adapter', 'encoder']) {
      const pod = podSpec(findResource(resources, 'Deployment', name));
      const volume = pod.volumes.find((item: Any) => item.persistentVolumeClaim?.claimName === 'castplane-media');
      const mount = pod.containers[0].volumeMounts.find((item: Any) => item.name === volume.name);
      expect(mount.mountPath).toBe('/media');
    }
  });

  it('resolves every referenced ConfigMap and volume claim', () => {
    for (const workload of resources.filter((resource) => ['Deployment', 'StatefulSet'].includes(resource.kind))) {
      for (const volume of podSpec(workload).volumes ?? []) {
        if (volume.configMap) expect(() => findResource(resources, 'ConfigMap', volume.configMap.name)).not.toThrow();
        if (volume.persistentVolumeClaim) {
          expect(() => findResource(resources, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName)).not.toThrow();
        }
      }
    }
    expect(namespace === undefined || resources.every((resource) => resource.metadata.namespace === namespace)).toBe(true);
  });
});

describe.each(BUILD_NAMES)('%s autoscaling and budgets', (buildName) => {
  const { resources, namespace } = BUILDS[buildName];
  const scaledObject = findResource(resources, 'ScaledObject', 'encoder');

  it.each(API_SERVICES)('autoscales %s on CPU', (app) => {
    const hpa = findResource(resources, 'HorizontalPodAutoscaler', app);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: app });
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
  });

  it('leaves encoder scaling to KEDA only', () => {
    const hpaTargets = resources.filter((resource) => resource.kind === 'HorizontalPodAutoscaler').map((hpa: Any) => hpa.spec.scaleTargetRef.name);
    expect(hpaTargets).not.toContain('encoder');
    expect(scaledObject.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'encoder' });
    expect(scaledObject.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
  });

  it('watches transcode wait and active lists', () => {
    const prefix = findResource(resources, 'ConfigMap', 'castplane-config').data.REDIS_KEY_PREFIX;
    const lists = scaledObject.spec.triggers.map((trigger: Any) => [trigger.name, trigger.metadata.listName]);
    expect(lists).toEqual([
      ['wait', `${prefix}:${TRANSCODE_QUEUE}:wait`],
      ['active', `${prefix}:${TRANSCODE_QUEUE}:active`],
    ]);
    expect(scaledObject.spec.advanced.scalingModifiers.formula).toBe('wait + active');
  });

  it('targets as many jobs per replica as each encoder runs', () => {
    const concurrency = Number(effective(resources, 'encoder', 'ENCODER_WORKER_CONCURRENCY'));
    expect(Number(scaledObject.spec.advanced.scalingModifiers.target)).toBe(concurrency);
    for (const trigger of scaledObject.spec.triggers) expect(Number(trigger.metadata.listLength)).toBe(concurrency);
  });

  it('reads the service Redis by FQDN', () => {
    const url = new URL(findResource(resources, 'ConfigMap', 'castplane-config').data.REDIS_URL);
    for (const trigger of scaledObject.spec.triggers) {
      const [host, port] = trigger.metadata.address.split(':');
      expect(host).toBe(`${url.hostname}.${namespace ?? 'castplane'}.svc.cluster.local`);
      expect(port).toBe(url.port);
    }
  });

  it('gives every workload a disruption budget', () => {
    const workloads = resources.filter((resource) => ['Deployment', 'StatefulSet'].includes(resource.kind));
    const budgets = resources.filter((resource) => resource.kind === 'PodDisruptionBudget') as Any[];
    for (const workload of workloads) {
      const matching = budgets.filter((budget) => matchesLabels(budget.spec.selector.matchLabels, podLabels(workload)));
      expect([workload.metadata.name, matching.length]).toEqual([workload.metadata.name, 1]);
    }
  });
});

describe.each(BUILD_NAMES)('%s network policies', (buildName) => {
  const { resources } = BUILDS[buildName];
  const pods = Object.fromEntries(
    resources
      .filter((resource) => ['Deployment', 'StatefulSet'].includes(resource.kind))
      .map((workload) => [workload.metadata.name, podLabels(workload)]),
  );

  /** Returns the names of the workloads in this namespace that an ingress rule admits. */
  function admitted(rule: Any): string[] {
    const peers = (rule.from ?? []).filter((peer: Any) => peer.podSelector && !peer.namespaceSelector);
    return Object.keys(pods).filter((name) => peers.some((peer: Any) => matchesLabels(peer.podSelector.matchLabels, pods[name])));
  }

  function policyFor(workload: string): Any {
    return resources.find((resource: Any) => resource.kind === 'NetworkPolicy' && matchesLabels(resource.spec.podSelector.matchLabels, pods[workload]));
  }

  it('limits Redis to services and KEDA', () => {
    const policy = policyFor('redis');
    expect(policy.spec.ingress).toHaveLength(1);
    const [rule] = policy.spec.ingress;
    expect(admitted(rule).sort()).toEqual([...SERVICE_NAMES].sort());
    const external = rule.from.filter((peer: Any) => peer.namespaceSelector);
    expect(external).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } },
        podSelector: { matchLabels: { app: 'keda-operator' } },
      },
    ]);
    expect(rule.ports).toEqual([{ protocol: 'TCP', port: 6379 }]);
  });

  it('limits srs-adapter callers to SRS and services', () => {
    const policy = policyFor('srs-adapter');
    const callbackPort = listenerPorts('srs-adapter').get('api');
    for (const rule of policy.spec.ingress) {
      expect(rule.from?.length).toBeGreaterThan(0);
      expect(rule.from.every((peer: Any) => peer.podSelector && !peer.namespaceSelector)).toBe(true);
    }
    const rulesForPort = policy.spec.ingress.filter((rule: Any) => rule.ports.some((port: Any) => port.port === callbackPort));
    const callers = rulesForPort.flatMap(admitted);
    expect(callers).toContain('srs');
    expect(callers).not.toContain('redis');
  });

  it('opens SRS media ports, API to srs-adapter', () => {
    const policy = policyFor('srs');
    const open = policy.spec.ingress.filter((rule: Any) => !rule.from);
    expect(open.flatMap((rule: Any) => rule.ports.map((port: Any) => port.port)).sort()).toEqual([1935, 8080]);
    const apiRules = policy.spec.ingress.filter((rule: Any) => rule.ports.some((port: Any) => port.port === 1985));
    expect(apiRules.every((rule: Any) => rule.from)).toBe(true);
    expect(apiRules.flatMap(admitted)).toEqual(['srs-adapter']);
  });
});

describe('secret documentation', () => {
  it('documents every key of the castplane Secret', () => {
    const docs = readRepoFile('docs/deployment.md');
    for (const key of SECRET_KEYS) expect(docs).toContain(key);
  });

  it('lists every key the manifests reference', () => {
    const referenced = new Set<string>();
    for (const build of Object.values(BUILDS)) {
      for (const workload of build.resources.filter((resource) => ['Deployment', 'StatefulSet'].includes(resource.kind))) {
        for (const container of podSpec(workload).containers) {
          for (const entry of container.env ?? []) {
            if (entry.valueFrom?.secretKeyRef) referenced.add(entry.valueFrom.secretKeyRef.key);
          }
        }
      }
    }
    expect([...referenced].sort()).toEqual([...SECRET_KEYS].sort());
  });

  it('generates every required secret', () => {
    const optional = new Set<string>();
    for (const build of Object.values(BUILDS)) {
      for (const app of SERVICE_NAMES) {
        for (const ref of appEnv(build.resources, app).secretRefs) if (ref.optional) optional.add(ref.key);
      }
    }
    const required = SECRET_KEYS.filter((key) => !optional.has(key));
    expect(Object.keys(GENERATED_SECRETS).sort()).toEqual(required.sort());
  });
});
