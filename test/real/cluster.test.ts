import { expect } from 'chai';
import { eventually } from '../support/eventually.js';
import type { RealCluster } from './support/cluster.js';
import { sharedCluster } from './support/shared-cluster.js';

describe('real cluster: kube-apiserver, controller-manager, scheduler and kwok', function () {
  let cluster: RealCluster;

  before(async function () {
    this.timeout(300_000);
    cluster = await sharedCluster();
  });

  it('reports the version it was built as', async function () {
    const version = JSON.parse(await cluster.kubectl(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string; minor: string };
    };
    expect(version.serverVersion.gitVersion).to.match(/^v1\.\d+\.\d+$/);
    expect(Number(version.serverVersion.minor)).to.be.at.least(34);
  });

  it('runs a Deployment until it is Available, its Pod Running and Ready on a kwok node', async function () {
    await cluster.kubectl(['create', 'namespace', 'cluster-check']);
    await cluster.kubectl([
      'create',
      'deployment',
      'web',
      '--image=registry.invalid/web:1',
      '-n',
      'cluster-check',
    ]);
    await eventually(
      async () => {
        const available = await cluster.kubectl([
          'get',
          'deployment',
          'web',
          '-n',
          'cluster-check',
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Available")].status}',
        ]);
        expect(available).to.equal('True');
      },
      120_000,
      500,
    );
    const pod = JSON.parse(await cluster.kubectl(['get', 'pods', '-n', 'cluster-check', '-o', 'json'])) as {
      items: { spec: { nodeName: string }; status: { phase: string } }[];
    };
    expect(pod.items.map((p) => [p.spec.nodeName, p.status.phase])).to.deep.equal([
      ['kwok-node-0', 'Running'],
    ]);
  });

  it("keeps the kwok node's Lease renewed, so the node never goes NotReady and its Pods stay Ready", async function () {
    const renewed = async () =>
      (
        await cluster.kubectl([
          'get',
          'lease',
          'kwok-node-0',
          '-n',
          'kube-node-lease',
          '-o',
          'jsonpath={.spec.renewTime}',
        ])
      ).trim();
    const first = await eventually(renewed, 30_000, 500);
    await eventually(async () => expect(await renewed()).not.to.equal(first), 60_000, 1000);
  });

  it('judges a ServiceAccount token by RBAC: forbidden until a Role grants it', async function () {
    await cluster.kubectl(['create', 'namespace', 'rbac-check']);
    await cluster.kubectl(['create', 'serviceaccount', 'reader', '-n', 'rbac-check']);
    const kubeconfig = await cluster.serviceAccountKubeconfig('rbac-check', 'reader');
    const denied = await cluster.kubectl(['get', 'configmaps'], { kubeconfig }).then(
      () => '',
      (err: Error) => err.message,
    );
    expect(denied).to.include('forbidden').and.include('system:serviceaccount:rbac-check:reader');
    await cluster.kubectl([
      'create',
      'role',
      'read-configmaps',
      '--verb=get,list',
      '--resource=configmaps',
      '-n',
      'rbac-check',
    ]);
    await cluster.kubectl([
      'create',
      'rolebinding',
      'reader',
      '--role=read-configmaps',
      '--serviceaccount=rbac-check:reader',
      '-n',
      'rbac-check',
    ]);
    await eventually(() => cluster.kubectl(['get', 'configmaps'], { kubeconfig }), 10_000, 200);
  });
});
