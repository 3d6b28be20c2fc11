import { expect } from 'chai';
import type { ResolvedTarget } from '../../../service/config/gitops-config.js';
import { appliedRevisionKey, changeKey } from '../../../service/webhooks/change-context.js';

// The seen-revisions store keeps these keys in ConfigMaps across upgrades: a key that changes its spelling
// forgets every revision seen before, and the next notification of an old revision starts a sequence again.
describe('seen-revisions keys stored by earlier versions', () => {
  const scope = { project: 'shop', stage: 'dev', service: 'cart' };
  const common = { rule: 0, timeoutMs: 60_000, deploymentName: 'cart' };

  it('keeps the key of a Flux onChange target', () => {
    const target: ResolvedTarget = {
      ...common,
      tool: 'flux',
      flux: {
        kind: 'Kustomization',
        name: 'cart',
        namespace: 'flux-system',
        withSource: false,
        force: false,
      },
    };
    expect(changeKey({ scope, target })).to.equal(
      'flux.Kustomization_flux-system_cart.shop.dev.cart.6cde9e940a99',
    );
  });

  it('keeps the key of an Argo CD onChange target, with and without an application namespace', () => {
    const argocd = {
      application: 'cart',
      instance: 'prod',
      prune: false,
      syncOptions: [],
      onRunningOperation: 'wait' as const,
    };
    const plain: ResolvedTarget = { ...common, tool: 'argocd', argocd };
    const namespaced: ResolvedTarget = {
      ...common,
      tool: 'argocd',
      argocd: { ...argocd, appNamespace: 'team' },
    };
    expect(changeKey({ scope, target: plain })).to.equal(
      'argocd.Application_prod_cart.shop.dev.cart.53a8d64e7d44',
    );
    expect(changeKey({ scope, target: namespaced })).to.equal(
      'argocd.Application_prod_team_cart.shop.dev.cart.e9c5c886586c',
    );
  });

  it('keeps the key of the revision Flux last applied', () => {
    expect(appliedRevisionKey('Kustomization/flux-system/cart')).to.equal(
      'flux.applied.Kustomization_flux-system_cart.0846ef50dba2',
    );
  });
});
