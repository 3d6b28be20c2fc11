import { expect } from 'chai';
import { resolveTarget } from '../../../service/config/resolve-target.js';
import { parseTargetsFile } from '../../../service/config/targets-loader.js';
import { ActiveDeliveries } from '../../../service/delivery/active-deliveries.js';

const CONFIG = parseTargetsFile(
  `targets:
  - match: {project: shop, stage: prod}
    argocd: {instance: prod, application: carts}
  - match: {project: shop, stage: dev}
    flux: {kind: Kustomization, name: carts, namespace: apps}
argocd:
  instances:
    - name: prod
      server: https://argocd.prod.example.com
      tokenEnv: PROD_TOKEN
`,
  'targets.yaml',
  { PROD_TOKEN: 't' },
);
const target = (stage: string) => resolveTarget(CONFIG, { project: 'shop', stage, service: 'carts' })!;

describe('ActiveDeliveries', () => {
  it('knows an Argo CD application by instance and name, whatever namespace the notification names', () => {
    const active = new ActiveDeliveries();
    const release = active.add(target('prod'));
    expect(active.has('argocd', 'Application/argocd/carts', 'prod')).to.equal(true);
    expect(active.has('argocd', 'Application/team-a/carts', 'prod')).to.equal(true);
    // Another Argo CD instance with an application of the same name is not this delivery.
    expect(active.has('argocd', 'Application/argocd/carts', 'staging')).to.equal(false);
    release();
    expect(active.has('argocd', 'Application/argocd/carts', 'prod')).to.equal(false);
  });

  it('knows a Flux object by kind, namespace and name while any of its deliveries runs', () => {
    const active = new ActiveDeliveries();
    const first = active.add(target('dev'));
    const second = active.add(target('dev'));
    first();
    first();
    expect(active.has('flux', 'Kustomization/apps/carts')).to.equal(true);
    second();
    expect(active.has('flux', 'Kustomization/apps/carts')).to.equal(false);
  });
});
