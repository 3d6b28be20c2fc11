import { DeployError } from '../deployer.js';
import type { FluxObject } from './flux-resources.js';
import { FLUX_RESOURCES, targetId, type FluxResourceKind } from '../../gitops/identity.js';

export interface SourceTarget {
  kind: FluxResourceKind;
  namespace: string;
  name: string;
}

const SOURCE_KINDS = new Set<string>(['GitRepository', 'OCIRepository', 'Bucket', 'HelmChart']);

/**
 * The source `flux reconcile --with-source` reconciles first: a Kustomization's spec.sourceRef; a
 * HelmRelease's chartRef, or the HelmChart `<ns>-<name>` helm-controller made for spec.chart.
 */
export function sourceOf(kind: FluxResourceKind, obj: FluxObject): SourceTarget {
  const ns = obj.metadata.namespace ?? 'flux-system';
  const target = targetId(kind, ns, obj.metadata.name);
  let ref: { kind: string; name: string; namespace?: string } | undefined;
  if (kind === 'Kustomization') ref = obj.spec?.sourceRef;
  else if (obj.spec?.chartRef) ref = obj.spec.chartRef;
  else if (obj.status?.helmChart?.includes('/')) {
    const [namespace, name] = obj.status.helmChart.split('/');
    ref = { kind: 'HelmChart', name: name!, namespace };
  } else
    ref = {
      kind: 'HelmChart',
      name: `${ns}-${obj.metadata.name}`,
      namespace: obj.spec?.chart?.spec?.sourceRef?.namespace ?? ns,
    };
  if (!ref || !SOURCE_KINDS.has(ref.kind) || !(ref.kind in FLUX_RESOURCES)) {
    throw new DeployError(
      'invalid',
      `${target} has no source that can be reconciled (${ref ? `unsupported kind ${ref.kind}` : 'no sourceRef'})`,
      target,
    );
  }
  return { kind: ref.kind as FluxResourceKind, name: ref.name, namespace: ref.namespace ?? ns };
}
