import { expect } from 'chai';
import { silentLogger } from '../../../lib/log.js';
import type { ResourceRef } from '../../../service/kube/kube-api.js';
import { KubeClient } from '../../../service/kube/kube-client.js';
import { WatchHub, type WatchedObject } from '../../../service/kube/watch-hub.js';
import { startKubeSandbox, type KubeSandbox } from '../../support/kube.js';

const KS: ResourceRef = {
  group: 'kustomize.toolkit.fluxcd.io',
  version: 'v1',
  plural: 'kustomizations',
  kind: 'Kustomization',
};

describe('WatchHub', () => {
  let sandbox: KubeSandbox;
  let hub: WatchHub<WatchedObject>;

  beforeEach(async () => {
    sandbox = await startKubeSandbox();
    hub = new WatchHub({
      client: new KubeClient({ kube: sandbox.api, logger: silentLogger }),
      resource: KS,
      namespace: 'flux-system',
      logger: silentLogger,
    });
  });
  afterEach(async () => {
    await hub.close();
    await sandbox.api.close();
    await sandbox.sim.stop();
  });

  it('keeps a new listener of an object when an earlier one unsubscribes twice', () => {
    const seen: string[] = [];
    const first = hub.subscribe('podinfo', () => seen.push('first'));
    first();
    hub.subscribe('podinfo', () => seen.push('second'));
    first();
    hub.publish({ metadata: { name: 'podinfo', namespace: 'flux-system' } });
    expect(seen).to.deep.equal(['second']);
  });
});
