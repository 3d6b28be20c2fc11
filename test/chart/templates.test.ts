import { expect } from 'chai';
import { ENV_VARS } from '../../service/config/env.js';
import {
  ciValuesFiles,
  defaultValues,
  lookup,
  schemaLookup,
  skeleton,
  template,
  templates,
  valuesPaths,
  valuesSchema,
} from './chart-files.js';

/** The env vars the chart sets that the targets file names (the README's example names). */
const TARGETS_FILE_SECRETS = ['ARGOCD_WEBHOOK_TOKEN', 'FLUX_WEBHOOK_HMAC_KEY', 'FLUX_WEBHOOK_TOKEN'];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}
interface Probe {
  httpGet: { path: string; port: string };
}
interface Container {
  name: string;
  args: string[];
  ports: { name: string; containerPort: string }[];
  env: EnvVar[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  volumeMounts: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}
interface DeploymentSkeleton {
  kind: string;
  spec: {
    template: {
      spec: {
        containers: Container[];
        volumes: { name: string; emptyDir?: unknown; configMap?: { name: string } }[];
        terminationGracePeriodSeconds: string;
      };
    };
  };
}

function deployment(): DeploymentSkeleton {
  const [doc] = skeleton(template('deployment.yaml')) as DeploymentSkeleton[];
  return doc!;
}

function container(): Container {
  return deployment().spec.template.spec.containers[0]!;
}

function env(name: string): EnvVar | undefined {
  return container().env.find((e) => e.name === name);
}

const yamlTemplates = () => templates().filter(([f]) => f.endsWith('.yaml'));

describe('chart templates', () => {
  for (const [file, text] of yamlTemplates()) {
    it(`${file}: the static part is well-formed YAML`, () => {
      expect(() => skeleton(text)).to.not.throw();
      expect(skeleton(text).length).to.be.greaterThan(0);
    });
  }

  for (const [file, text] of templates()) {
    it(`${file}: every if/with/range/define block is closed`, () => {
      const opened = [...text.matchAll(/\{\{-?\s*(if|with|range|define)\b/g)].length;
      const closed = [...text.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length;
      expect(closed).to.equal(opened);
    });
  }

  it('reads only .Values paths that exist in values.yaml', () => {
    const values = defaultValues();
    const missing = templates()
      .flatMap(([file, text]) => valuesPaths(text).map((p) => [file, p] as const))
      .filter(([, p]) => !lookup(values, p).found)
      .map(([file, p]) => `${file}: .Values.${p.join('.')}`);
    expect(missing).to.deep.equal([]);
  });

  it('reads only .Values paths that the schema describes', () => {
    const schema = valuesSchema();
    const missing = templates()
      .flatMap(([file, text]) => valuesPaths(text).map((p) => [file, p] as const))
      .filter(([, p]) => schemaLookup(schema, p) === undefined)
      .map(([file, p]) => `${file}: .Values.${p.join('.')}`);
    expect(missing).to.deep.equal([]);
  });

  it('finds the .Values paths of the templates (the two checks above see something)', () => {
    const all = templates().flatMap(([, text]) => valuesPaths(text).map((p) => p.join('.')));
    expect(all).to.include.members([
      'remoteControlPlane.api.hostname',
      'targets.existingConfigMap',
      'securityContext',
    ]);
  });

  it('sets only env vars that the service reads', () => {
    const known = new Set<string>([...ENV_VARS, ...TARGETS_FILE_SECRETS]);
    const names = container().env.map((e) => e.name);
    expect(names.filter((n) => !known.has(n))).to.deep.equal([]);
  });

  it('sets every env var the brief of the chart promises', () => {
    const names = container().env.map((e) => e.name);
    expect(names).to.include.members([
      'K8S_NAMESPACE',
      'K8S_POD_NAME',
      'K8S_NODE_NAME',
      'K8S_DEPLOYMENT_NAME',
      'K8S_DEPLOYMENT_VERSION',
      'EVENTBROKER',
      'SHIPYARD_CONTROLLER',
      'TASKS',
      'INTEGRATION_NAME',
      'LOG_LEVEL',
      'HEALTH_ENDPOINT_PORT',
      'WEBHOOK_PORT',
      'GITOPS_CONFIG',
      'KEPTN_API_ENDPOINT',
      'KEPTN_API_TOKEN',
      'HTTP_SSL_VERIFY',
      'PUBSUB_TOPIC',
      'ARGOCD_SERVER',
      'ARGOCD_AUTH_TOKEN',
      'SHUTDOWN_TIMEOUT',
      ...TARGETS_FILE_SECRETS,
    ]);
  });

  it('takes the K8S_* registration metadata from the pod', () => {
    expect(env('K8S_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).to.equal('metadata.namespace');
    expect(env('K8S_POD_NAME')?.valueFrom?.fieldRef?.fieldPath).to.equal('metadata.name');
    expect(env('K8S_NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).to.equal('spec.nodeName');
  });

  it('reads tokens only from Secrets, never from plain values', () => {
    for (const name of ['KEPTN_API_TOKEN', 'ARGOCD_AUTH_TOKEN', ...TARGETS_FILE_SECRETS]) {
      expect(env(name)?.valueFrom?.secretKeyRef, name).to.not.equal(undefined);
      expect(env(name)?.value, name).to.equal(undefined);
    }
  });

  it('makes each webhook secret key optional, as the targets file may not name it', () => {
    for (const name of TARGETS_FILE_SECRETS)
      expect(env(name)?.valueFrom?.secretKeyRef?.optional, name).to.equal(true);
  });

  it('builds KEPTN_API_ENDPOINT as <protocol>://<hostname>/api', () => {
    expect(template('deployment.yaml')).to.match(
      /name: KEPTN_API_ENDPOINT\n\s+value: \{\{ printf "%s:\/\/%s\/api" \.Values\.remoteControlPlane\.api\.protocol \.Values\.remoteControlPlane\.api\.hostname/,
    );
  });

  it('points the liveness probe at /health and the readiness probe at /ready on the health port', () => {
    const c = container();
    expect(c.livenessProbe.httpGet).to.deep.equal({ path: '/health', port: 'health' });
    expect(c.readinessProbe.httpGet).to.deep.equal({ path: '/ready', port: 'health' });
    expect(c.ports.map((p) => p.name)).to.include.members(['health', 'webhooks']);
    expect(template('deployment.yaml')).to.match(
      /name: health\n\s+containerPort: \{\{ \.Values\.ports\.health \}\}/,
    );
    expect(template('deployment.yaml')).to.match(
      /name: HEALTH_ENDPOINT_PORT\n\s+value: \{\{ \.Values\.ports\.health \| quote \}\}/,
    );
  });

  it('runs `serve`', () => {
    expect(container().args).to.deep.equal(['serve']);
  });

  it('mounts the targets directory without subPath, so ConfigMap updates reach the pod', () => {
    const mount = container().volumeMounts.find((m) => m.name === 'targets');
    expect(mount).to.deep.include({ mountPath: '/etc/keptn-gitops', readOnly: true });
    expect(mount?.subPath).to.equal(undefined);
    expect(env('GITOPS_CONFIG')?.value).to.equal('/etc/keptn-gitops/config.yaml');
  });

  it('gives the read-only root filesystem a writable emptyDir at /tmp', () => {
    const mount = container().volumeMounts.find((m) => m.mountPath === '/tmp');
    const volume = deployment().spec.template.spec.volumes.find((v) => v.name === mount?.name);
    expect(volume?.emptyDir).to.not.equal(undefined);
  });

  it('applies the pod and container security contexts from the values', () => {
    const text = template('deployment.yaml');
    expect(text).to.match(
      /^ {6}securityContext:\n\s+\{\{- toYaml \.Values\.podSecurityContext \| nindent 8 \}\}/m,
    );
    expect(text).to.match(
      /^ {10}securityContext:\n\s+\{\{- toYaml \.Values\.securityContext \| nindent 12 \}\}/m,
    );
  });

  it('defaults to a non-root, read-only, capability-free container', () => {
    const values = defaultValues();
    expect(values.podSecurityContext).to.deep.include({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(values.securityContext).to.deep.include({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('keeps terminationGracePeriodSeconds above shutdownTimeout in every values file', () => {
    expect(template('_helpers.tpl')).to.contain('{{- add $shutdown 15 }}');
    for (const [file, values] of [['values.yaml', defaultValues()] as const, ...ciValuesFiles()]) {
      const grace = values.terminationGracePeriodSeconds;
      if (typeof grace === 'number')
        expect(grace, file).to.be.greaterThan(Number(values.shutdownTimeout ?? 30));
    }
  });

  it('creates a PodDisruptionBudget only when more than one replica runs', () => {
    expect(template('pdb.yaml')).to.match(
      /^\{\{- if and \.Values\.podDisruptionBudget\.enabled \(gt \(int \.Values\.replicaCount\) 1\) \}\}/,
    );
    expect(defaultValues().replicaCount).to.equal(2);
  });

  it('labels everything with the standard app.kubernetes.io labels', () => {
    const helpers = template('_helpers.tpl');
    for (const label of [
      'app.kubernetes.io/name',
      'app.kubernetes.io/instance',
      'app.kubernetes.io/version',
      'app.kubernetes.io/managed-by',
    ]) {
      expect(helpers, label).to.contain(`${label}:`);
    }
    for (const [file, text] of yamlTemplates()) {
      expect(text, file).to.contain('include "keptn-gitops-service.labels"');
    }
  });

  it('NOTES.txt warns when the targets file has no rules: the service then subscribes to no task', () => {
    const notes = template('NOTES.txt');
    const warning =
      /\{\{- if and \(not \.Values\.targets\.existingConfigMap\) \(not \(\.Values\.targets\.config\)\.targets\) \}\}\s+WARNING: ([^{]*)\{\{- end \}\}/.exec(
        notes,
      );
    expect(warning, notes).to.not.equal(null);
    expect(warning![1])
      .to.include('no target rules')
      .and.include('subscribes to no task')
      .and.include('docs/targets-file.md');
  });

  it('points NOTES.txt at the Argo CD and Flux notification docs', () => {
    const notes = template('NOTES.txt');
    expect(notes).to.contain('docs/argocd/');
    expect(notes).to.contain('docs/flux/');
  });
});
