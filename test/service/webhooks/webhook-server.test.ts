import { expect } from 'chai';
import { request } from 'node:http';
import { readFixture } from '../../support/paths.js';
import {
  ARGO_TOKEN,
  FLUX_HMAC_KEY,
  FLUX_TOKEN,
  Harness,
  NEW_SHA,
  argoApp,
  argoBody,
  outOfSync,
  testConfig,
} from './harness.js';

const fluxEvent = () => readFixture<Record<string, unknown>>('gitops', 'flux-generic-webhook-event.json');

/** A raw POST, for bodies fetch would not send as they are; resolves with the status code. */
function rawPost(url: string, headers: Record<string, string | number>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('webhook server', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
  });
  afterEach(() => h.close());

  describe('POST /webhooks/argocd', () => {
    it('answers 202 and hands the notification on when the Bearer token is right', async () => {
      const res = await h.postArgo(argoBody(argoApp()));
      expect(res.status).to.equal(202);
      expect(await h.count('gitops_webhook_requests_total', { endpoint: 'argocd', code: '202' })).to.equal(1);
    });

    it('answers 401 when the Bearer token is wrong', async () => {
      const res = await h.postArgo(argoBody(argoApp()), 'not-the-token');
      expect(res.status).to.equal(401);
      const text = await res.text();
      expect(text).not.to.include(ARGO_TOKEN);
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'argocd', reason: 'unauthorized' }),
      ).to.equal(1);
      expect(await h.count('gitops_webhook_requests_total', { endpoint: 'argocd', code: '401' })).to.equal(1);
    });

    it('answers 401 when the Authorization header is missing', async () => {
      const res = await fetch(`${h.server.url}/webhooks/argocd`, {
        method: 'POST',
        body: JSON.stringify(argoBody(argoApp())),
      });
      expect(res.status).to.equal(401);
    });

    it('answers 401 to a token that only shares a prefix with the right one', async () => {
      const res = await h.postArgo(argoBody(argoApp()), ARGO_TOKEN.slice(0, -1));
      expect(res.status).to.equal(401);
    });

    it('answers 400 with what is wrong when the body is not JSON', async () => {
      const res = await h.postArgo('{"instance": "default", "trigger": "x", "app": {"metadata": ,}}');
      expect(res.status).to.equal(400);
      const body = (await res.json()) as { problems: string[] };
      expect(body.problems[0]).to.match(/not valid JSON/);
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'argocd', reason: 'malformed' }),
      ).to.equal(1);
    });

    it('logs the list of problems of a 400, not only "malformed"', async () => {
      await h.postArgo({ instance: 'default', trigger: 'on-out-of-sync', app: { metadata: {} } });
      const line = h.log.entries.find((e) => e.message === 'webhook request rejected');
      expect(line?.meta).to.deep.include({ endpoint: 'argocd', code: 400, reason: 'malformed' });
      expect((line?.meta.problems as string[]).join()).to.include('app.metadata.name');
    });

    it('answers 400 naming the instance and the known ones when the notification comes from an unknown Argo CD instance', async () => {
      const res = await h.postArgo(argoBody(argoApp(), 'on-out-of-sync', 'staging'));
      expect(res.status).to.equal(400);
      const body = (await res.json()) as { problems: string[] };
      expect(body.problems).to.have.length(1);
      expect(body.problems[0]).to.include("unknown Argo CD instance 'staging'").and.include("'default'");
      const line = h.log.entries.find((e) => e.message === 'webhook request rejected');
      expect(line?.meta.problems).to.deep.equal(body.problems);
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'argocd', reason: 'unknown-sender' }),
      ).to.equal(1);
      await h.handler.idle();
      expect(h.started).to.have.length(0);
    });

    it('answers 400 naming the trigger and the known ones when the trigger name is unknown', async () => {
      const res = await h.postArgo(argoBody(outOfSync(NEW_SHA), 'on-created'));
      expect(res.status).to.equal(400);
      const body = (await res.json()) as { problems: string[] };
      expect(body.problems[0])
        .to.include("unknown trigger 'on-created'")
        .and.include('on-out-of-sync, on-deployed, on-sync-failed, on-health-degraded');
      await h.handler.idle();
      expect(h.started).to.have.length(0);
    });

    it('answers 400 naming the field when the app has no name', async () => {
      const res = await h.postArgo({ instance: 'default', trigger: 'on-out-of-sync', app: { metadata: {} } });
      expect(res.status).to.equal(400);
      const body = (await res.json()) as { problems: string[] };
      expect(body.problems.join()).to.include('app.metadata.name');
    });

    it('answers 400 to the sandbox template output, which is not our body', async () => {
      const res = await h.postArgo(
        readFixture('gitops', 'argocd-notification-keptn-outofsync.rendered.json'),
      );
      expect(res.status).to.equal(400);
    });

    it('answers 413 and stops reading when the body is over 1 MiB', async () => {
      const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
      const code = await rawPost(
        `${h.server.url}/webhooks/argocd`,
        { Authorization: `Bearer ${ARGO_TOKEN}`, 'Content-Length': big.length },
        big,
      );
      expect(code).to.equal(413);
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'argocd', reason: 'too-large' }),
      ).to.equal(1);
    });

    it('answers 413 to a chunked body that grows over 1 MiB', async () => {
      const code = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${h.server.url}/webhooks/argocd`,
          { method: 'POST', headers: { Authorization: `Bearer ${ARGO_TOKEN}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        for (let i = 0; i < 17; i++) req.write(chunk);
        req.end();
      });
      expect(code).to.equal(413);
    });

    it('answers 404 when the targets file does not configure it', async () => {
      h.config = testConfig('targets: []', {});
      const res = await h.postArgo(argoBody(argoApp()));
      expect(res.status).to.equal(404);
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'argocd', reason: 'not-configured' }),
      ).to.equal(1);
    });
  });

  describe('POST /webhooks/flux', () => {
    it('answers 202 to a correct generic-hmac signature over the raw body', async () => {
      const res = await h.postFlux(fluxEvent(), { hmacKey: FLUX_HMAC_KEY });
      expect(res.status).to.equal(202);
    });

    it('answers 202 to the generic provider Bearer header', async () => {
      const res = await h.postFlux(fluxEvent(), { token: FLUX_TOKEN });
      expect(res.status).to.equal(202);
    });

    it('answers 401 when the signature was made with another key', async () => {
      const res = await h.postFlux(fluxEvent(), { hmacKey: 'another-key' });
      expect(res.status).to.equal(401);
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'flux', reason: 'unauthorized' }),
      ).to.equal(1);
    });

    it('answers 401 when the body was changed after signing', async () => {
      const body = JSON.stringify(fluxEvent());
      const { createHmac } = await import('node:crypto');
      const signature = createHmac('sha256', FLUX_HMAC_KEY).update(body).digest('hex');
      const res = await fetch(`${h.server.url}/webhooks/flux`, {
        method: 'POST',
        headers: { 'X-Signature': `sha256=${signature}` },
        body: body.replace('webapp', 'webapq'),
      });
      expect(res.status).to.equal(401);
    });

    it('answers 401 with neither signature nor token', async () => {
      const res = await h.postFlux(fluxEvent(), {});
      expect(res.status).to.equal(401);
    });

    it('answers 401 to a wrong Bearer token', async () => {
      const res = await h.postFlux(fluxEvent(), { token: 'wrong' });
      expect(res.status).to.equal(401);
    });

    it('answers 400 when involvedObject is missing', async () => {
      const res = await h.postFlux({ severity: 'info', reason: 'NewArtifact', message: 'x' });
      expect(res.status).to.equal(400);
      const body = (await res.json()) as { problems: string[] };
      expect(body.problems.join()).to.include('involvedObject');
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'flux', reason: 'malformed' }),
      ).to.equal(1);
    });

    it('answers 400 when the body is not JSON', async () => {
      const res = await h.postFlux('not json');
      expect(res.status).to.equal(400);
    });

    it('answers 413 when the body is over 1 MiB', async () => {
      const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
      const code = await rawPost(`${h.server.url}/webhooks/flux`, { 'Content-Length': big.length }, big);
      expect(code).to.equal(413);
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'flux', reason: 'too-large' }),
      ).to.equal(1);
    });

    it('answers 404 when the targets file does not configure it', async () => {
      h.config = testConfig('webhooks: {argocdTokenEnv: ARGOCD_WEBHOOK_TOKEN}', {
        ARGOCD_WEBHOOK_TOKEN: ARGO_TOKEN,
      });
      const res = await h.postFlux(fluxEvent());
      expect(res.status).to.equal(404);
    });

    it('accepts only the Bearer token when only fluxTokenEnv is set', async () => {
      h.config = testConfig('webhooks: {fluxTokenEnv: T}', { T: FLUX_TOKEN });
      expect((await h.postFlux(fluxEvent(), { hmacKey: FLUX_HMAC_KEY })).status).to.equal(401);
      expect((await h.postFlux(fluxEvent(), { token: FLUX_TOKEN })).status).to.equal(202);
    });
  });

  describe('routing', () => {
    it('answers 404 to other paths', async () => {
      const res = await fetch(`${h.server.url}/webhooks/gitlab`, { method: 'POST', body: '{}' });
      expect(res.status).to.equal(404);
      expect(await h.count('gitops_webhook_rejected_total', { reason: 'not-found' })).to.equal(1);
    });

    it('answers 405 to other methods', async () => {
      const res = await fetch(`${h.server.url}/webhooks/argocd`);
      expect(res.status).to.equal(405);
      expect(res.headers.get('allow')).to.equal('POST');
      expect(
        await h.count('gitops_webhook_rejected_total', { endpoint: 'argocd', reason: 'method-not-allowed' }),
      ).to.equal(1);
    });
  });
});
