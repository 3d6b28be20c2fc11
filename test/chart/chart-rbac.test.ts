import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartRbacRules } from './chart-rbac.js';

describe('chartRbacRules', () => {
  it('reads one entry per API group and resource from the RBAC template', () => {
    const rules = chartRbacRules();
    expect(rules).to.deep.include({
      apiGroup: 'kustomize.toolkit.fluxcd.io',
      resource: 'kustomizations',
      verbs: ['get', 'list', 'watch', 'patch'],
    });
    expect(rules).to.deep.include({
      apiGroup: 'source.toolkit.fluxcd.io',
      resource: 'buckets',
      verbs: ['get', 'list', 'watch', 'patch'],
    });
    expect(rules).to.deep.include({
      apiGroup: 'authorization.k8s.io',
      resource: 'selfsubjectaccessreviews',
      verbs: ['create'],
    });
    expect(rules.filter((r) => r.apiGroup === '').map((r) => r.resource)).to.deep.equal(['configmaps']);
  });

  it('grants no wildcard and no secrets', () => {
    const rules = chartRbacRules();
    expect(
      rules.filter((r) => r.apiGroup === '*' || r.resource === '*' || r.verbs.includes('*')),
    ).to.deep.equal([]);
    expect(rules.map((r) => r.resource)).to.not.include('secrets');
  });

  it('strips template actions, including comments over several lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-rbac-'));
    const file = join(dir, '_rules.tpl');
    writeFileSync(
      file,
      '{{/*\nnot: yaml: here\n*/}}\n{{- define "x" }}\n- apiGroups: ["apps"]\n  resources: ["deployments", "replicasets"]\n  verbs: ["get"]\n{{- end }}\n',
    );
    expect(chartRbacRules(file)).to.deep.equal([
      { apiGroup: 'apps', resource: 'deployments', verbs: ['get'] },
      { apiGroup: 'apps', resource: 'replicasets', verbs: ['get'] },
    ]);
  });
});
