import { expect } from 'chai';
import { changeTargets, describeScope, resolveTarget } from '../../../service/config/resolve-target.js';
import { parseTargetsFile } from '../../../service/config/targets-loader.js';
import { EXAMPLE_ENV, PRODUCT_EXAMPLE } from './product-example.js';

const ENV = { ARGOCD_SERVER: 'https://argocd.example.com', ARGOCD_AUTH_TOKEN: 't' };
const config = (yaml: string) => parseTargetsFile(yaml, 'targets.yaml', ENV);

describe('resolveTarget', () => {
  it('resolves the specification example with placeholders expanded', () => {
    const c = parseTargetsFile(PRODUCT_EXAMPLE, 'example.yaml', EXAMPLE_ENV);
    const target = resolveTarget(c, { project: 'sockshop', stage: 'dev', service: 'carts' });
    expect(target).to.deep.include({ tool: 'argocd', rule: 0, timeoutMs: 600_000, deploymentName: 'direct' });
    expect(target!.tool === 'argocd' && target!.argocd.application).to.equal('carts-dev');
    const flux = resolveTarget(c, { project: 'podtato', stage: 'dev', service: 'helloservice' });
    expect(flux).to.deep.include({ tool: 'flux', rule: 1, onChange: { sequence: 'delivery' } });
    expect(resolveTarget(c, { project: 'podtato', stage: 'prod', service: 'helloservice' })).to.equal(
      undefined,
    );
  });

  it('takes the first matching rule', () => {
    const c = config(`
targets:
  - match: {project: shop, service: carts}
    flux: {kind: Kustomization, name: carts-special}
  - match: {project: shop}
    flux: {kind: Kustomization, name: "\${service}"}
`);
    const first = resolveTarget(c, { project: 'shop', stage: 'dev', service: 'carts' });
    expect(first!.rule).to.equal(0);
    const second = resolveTarget(c, { project: 'shop', stage: 'dev', service: 'orders' });
    expect(second!.rule).to.equal(1);
    expect(second!.tool === 'flux' && second!.flux.name).to.equal('orders');
  });

  it('matches any value of a list', () => {
    const c = config(
      'targets:\n  - match: {project: shop, stage: [dev, staging]}\n    flux: {kind: Kustomization, name: a}\n',
    );
    expect(resolveTarget(c, { project: 'shop', stage: 'staging', service: 'x' })).not.to.equal(undefined);
    expect(resolveTarget(c, { project: 'shop', stage: 'prod', service: 'x' })).to.equal(undefined);
  });

  it('matches anything with an omitted key or no match at all', () => {
    const c = config('targets:\n  - flux: {kind: Kustomization, name: a}\n');
    expect(resolveTarget(c, { project: 'any', stage: 'thing', service: 'goes' })!.rule).to.equal(0);
  });

  it('expands ${project} ${stage} ${service} in application, name and namespace', () => {
    const c = config(`
targets:
  - match: {project: a}
    argocd: {application: "\${project}-\${service}-\${stage}"}
  - match: {project: b}
    flux: {kind: HelmRelease, name: "\${service}", namespace: "\${project}-\${stage}"}
`);
    const argo = resolveTarget(c, { project: 'a', stage: 'dev', service: 'web' });
    expect(argo!.tool === 'argocd' && argo!.argocd.application).to.equal('a-web-dev');
    const flux = resolveTarget(c, { project: 'b', stage: 'prod', service: 'api' });
    expect(flux!.tool === 'flux' && flux!.flux).to.deep.include({ name: 'api', namespace: 'b-prod' });
  });

  it('converts the timeout to milliseconds', () => {
    const c = config('targets:\n  - flux: {kind: Kustomization, name: a}\n    timeout: 1h30m\n');
    expect(resolveTarget(c, { project: 'p', stage: 's', service: 'v' })!.timeoutMs).to.equal(5_400_000);
  });

  it('lists the onChange rules with their fixed scope', () => {
    const c = parseTargetsFile(PRODUCT_EXAMPLE, 'example.yaml', EXAMPLE_ENV);
    const targets = changeTargets(c);
    expect(targets).to.have.length(1);
    expect(targets[0]!.scope).to.deep.equal({ project: 'podtato', stage: 'dev', service: 'helloservice' });
    expect(describeScope(targets[0]!.scope)).to.equal('project=podtato stage=dev service=helloservice');
  });
});
