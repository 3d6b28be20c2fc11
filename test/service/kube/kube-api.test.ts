import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResourceRef } from '../../../service/kube/kube-api.js';
import { sandboxKubeApi } from '../../support/kube.js';

const KS: ResourceRef = {
  group: 'kustomize.toolkit.fluxcd.io',
  version: 'v1',
  plural: 'kustomizations',
  kind: 'Kustomization',
};

describe('KubeApi', () => {
  let server: Server;
  let url: string;

  before(async () => {
    // Two events, written in chunks that split a line and a multi-byte character (ü is 0xC3 0xBC).
    const body = Buffer.from(
      JSON.stringify({
        type: 'ADDED',
        object: { metadata: { name: 'podinfo', annotations: { owner: 'Jürgen' } } },
      }) +
        '\n' +
        JSON.stringify({
          type: 'MODIFIED',
          object: { metadata: { name: 'podinfo', resourceVersion: '2' } },
        }) +
        '\n',
    );
    const split = body.indexOf(0xc3) + 1;
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(body.subarray(0, split));
      // Kept: the pause is the scenario, so the client reads the halves apart (the split is mid-character).
      setTimeout(() => res.end(body.subarray(split)), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('yields every event whole, also when a chunk ends inside a line and inside a character', async () => {
    const api = sandboxKubeApi(url);
    const events: { type: string; object: { metadata: { annotations?: Record<string, string> } } }[] = [];
    for await (const event of api.watch<{ metadata: { annotations?: Record<string, string> } }>(
      KS,
      'flux-system',
      {},
    ))
      events.push(event);
    await api.close();
    expect(events.map((e) => e.type)).to.deep.equal(['ADDED', 'MODIFIED']);
    expect(events[0]!.object.metadata.annotations).to.deep.equal({ owner: 'Jürgen' });
  });
});
