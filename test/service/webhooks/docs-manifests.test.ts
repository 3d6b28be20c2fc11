import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../../support/paths.js';
import { Harness, NEW_SHA, argoApp, outOfSync } from './harness.js';
import { FLUX_SOURCE_KINDS } from '../../../service/webhooks/flux-decision.js';

const doc = (...p: string[]) => readFileSync(join(repoRoot, 'docs', ...p), 'utf8');

/** What notifications-engine renders for our template: `{{toJson .app}}` is the Application as JSON. */
function render(body: string, app: unknown): string {
  return body.replace('{{toJson .app}}', JSON.stringify(app));
}

describe('shipped operator manifests', () => {
  const cm = parse(doc('argocd', 'argocd-notifications-cm.yaml')) as { data: Record<string, string> };
  const templates = Object.entries(cm.data).filter(([k]) => k.startsWith('template.'));

  it('renders every Argo CD template to valid JSON that the service accepts', async () => {
    const h = await Harness.start();
    try {
      expect(templates).to.have.length(4);
      for (const [name, value] of templates) {
        const body = (parse(value) as { webhook: { 'keptn-gitops': { method: string; body: string } } })
          .webhook['keptn-gitops'];
        expect(body.method, name).to.equal('POST');
        const app = name.includes('out-of-sync') ? outOfSync(NEW_SHA) : argoApp();
        const rendered = JSON.parse(render(body.body, app)) as { instance: string; trigger: string };
        expect(Object.keys(rendered), name).to.deep.equal(['instance', 'trigger', 'app']);
        expect((await h.postArgo(rendered)).status, name).to.equal(202);
      }
      await h.handler.idle();
      expect(h.started).to.have.length(1);
    } finally {
      await h.close();
    }
  });

  it('fires each Argo CD trigger once per revision and sends Bearer $keptn-gitops-webhook-token', () => {
    for (const trigger of ['on-out-of-sync', 'on-deployed', 'on-sync-failed', 'on-health-degraded']) {
      const [rule] = parse(cm.data[`trigger.${trigger}`]!) as {
        when: string;
        oncePer?: string;
        send: string[];
      }[];
      expect(rule!.oncePer, trigger).to.be.a('string');
      expect(rule!.send, trigger).to.have.length(1);
      expect(cm.data[`template.${rule!.send[0]}`], trigger).to.include(`"trigger": "${trigger}"`);
    }
    expect(cm.data['service.webhook.keptn-gitops']).to.include('Bearer $keptn-gitops-webhook-token');
    expect(cm.data['service.webhook.keptn-gitops']).to.include('/webhooks/argocd');
  });

  it('points the Flux generic-hmac Provider at /webhooks/flux and alerts on sources and deployers', () => {
    const provider = parse(doc('flux', 'provider.yaml')) as {
      apiVersion: string;
      spec: { type: string; address: string; secretRef: { name: string } };
    };
    expect(provider.apiVersion).to.equal('notification.toolkit.fluxcd.io/v1beta3');
    expect(provider.spec.type).to.equal('generic-hmac');
    expect(provider.spec.address).to.equal('http://keptn-gitops-service.keptn.svc:8090/webhooks/flux');
    const secret = parseAllDocuments(doc('flux', 'secret.yaml'))[0]!.toJSON() as {
      metadata: { name: string };
      stringData: { token: string };
    };
    expect(secret.metadata.name).to.equal(provider.spec.secretRef.name);
    expect(secret.stringData.token).to.be.a('string');
    const alert = parse(doc('flux', 'alert.yaml')) as {
      spec: { eventSeverity: string; eventSources: { kind: string }[] };
    };
    expect(alert.spec.eventSeverity).to.equal('info');
    // Every source kind whose NewArtifact starts sequences (Bucket too), and the kinds it deploys.
    expect(alert.spec.eventSources.map((s) => s.kind)).to.have.members([
      ...FLUX_SOURCE_KINDS,
      'Kustomization',
      'HelmRelease',
    ]);
  });
});
