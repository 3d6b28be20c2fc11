import { KubeApiError } from '../../kube/kube-errors.js';
import { DeployError } from '../deployer.js';

/** A Kubernetes API failure about a Flux object as the DeployError the service reports. */
export function toDeployError(
  err: unknown,
  t: { kind: string; namespace: string; name: string; target: string },
): DeployError {
  if (err instanceof DeployError) return err;
  if (!(err instanceof KubeApiError))
    return new DeployError(
      'unreachable',
      `${t.target}: ${err instanceof Error ? err.message : String(err)}`,
      t.target,
      { cause: err },
    );
  const object = `${t.kind} ${t.namespace}/${t.name}`;
  const { verb, resource, namespace } = err.request;
  switch (err.kind) {
    case 'not-found':
      return new DeployError(
        'not-found',
        `${object} not found (${resource} in namespace ${namespace ?? t.namespace})`,
        t.target,
        { cause: err },
      );
    case 'forbidden':
      return new DeployError(
        'forbidden',
        `${object}: forbidden to ${verb} ${resource} in namespace ${namespace ?? t.namespace}; grant the service's ServiceAccount "${verb}" on ${resource}`,
        t.target,
        { cause: err },
      );
    case 'unauthorized':
      return new DeployError(
        'auth',
        `${object}: the Kubernetes API rejected the service's credentials (401)`,
        t.target,
        { cause: err },
      );
    case 'invalid':
    case 'unsupported':
    case 'conflict':
    case 'gone':
      return new DeployError('invalid', `${object}: ${err.message}`, t.target, { cause: err });
    default:
      return new DeployError(
        'unreachable',
        `${object}: Kubernetes API unreachable until the deadline (${verb} ${resource}: ${err.kind}${err.status ? ` ${err.status}` : ''})`,
        t.target,
        { cause: err },
      );
  }
}

/** The object has `spec.suspend: true`: its controller ignores it until it is resumed. */
export function suspendedError(t: {
  kind: string;
  namespace: string;
  name: string;
  target: string;
}): DeployError {
  return new DeployError(
    'suspended',
    `${t.kind} ${t.namespace}/${t.name} is suspended (spec.suspend: true); resume it with flux resume ${t.kind.toLowerCase()} ${t.name} -n ${t.namespace}`,
    t.target,
  );
}
