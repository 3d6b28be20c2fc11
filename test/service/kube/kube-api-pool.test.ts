import { expect } from 'chai';
import { CONFIGMAPS, KubeApi, type ResourceRef } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { eventually } from '../../support/eventually.js';
import { startKubeSandbox, type KubeSandbox } from '../../support/kube.js';

const KS: ResourceRef = {
  group: 'kustomize.toolkit.fluxcd.io',
  version: 'v1',
  plural: 'kustomizations',
  kind: 'Kustomization',
};

describe('KubeApi connections', () => {
  let sandbox: KubeSandbox;
  let api: KubeApi;
  const stop = new AbortController();

  before(async () => {
    sandbox = await startKubeSandbox();
    api = new KubeApi(loadKubeConfig(sandbox.kubeconfigPath), { connections: 2, requestTimeoutMs: 2000 });
  });
  after(async () => {
    stop.abort();
    await api.close();
    await sandbox.api.close();
    await sandbox.sim.stop();
  });

  it('keeps answering calls while more watches are open than the call pool has connections', async () => {
    // One watch per namespace, as the Flux deployer opens them: each holds its connection.
    for (const namespace of ['team-a', 'team-b', 'team-c']) {
      void api
        .watch(KS, namespace, {}, stop.signal)
        [Symbol.asyncIterator]()
        .next()
        .catch(() => undefined);
    }
    await eventually(() => expect(sandbox.sim.requestCount({ verb: 'watch' })).to.equal(3));
    await api.create(CONFIGMAPS, 'keptn', { metadata: { name: 'after-the-watches' }, data: {} });
    const read = await api.get<{ metadata: { name: string } }>(CONFIGMAPS, 'keptn', 'after-the-watches');
    expect(read.metadata.name).to.equal('after-the-watches');
  });
});
