import { expect } from 'chai';
import { Secret } from '../../../service/config/secret.js';
import { bearerMatches, hmacMatches } from '../../../service/webhooks/auth.js';
import { fluxMetadata } from '../../../service/webhooks/payloads.js';
import { sameRevision, seenKey } from '../../../service/state/seen-revisions.js';
import {
  buildSequenceTrigger,
  SequenceTriggerError,
  validateSequenceTrigger,
} from '../../../service/webhooks/sequence-trigger.js';

const change = { tool: 'flux', target: 'Kustomization/flux-system/a', revision: 'main@sha1:abc' } as const;

describe('sequence triggers', () => {
  it('refuses a trigger whose type names another stage than data.stage', () => {
    expect(() =>
      validateSequenceTrigger({
        type: 'sh.keptn.event.prod.delivery.triggered',
        data: { project: 'p', stage: 'dev', service: 's' },
      }),
    ).to.throw(SequenceTriggerError, /stage in the type \(prod\) differs from data.stage \(dev\)/);
  });

  it('refuses a trigger without project, stage or service', () => {
    for (const key of ['project', 'stage', 'service']) {
      const data: Record<string, unknown> = { project: 'p', stage: 'dev', service: 's' };
      delete data[key];
      expect(
        () => validateSequenceTrigger({ type: 'sh.keptn.event.dev.delivery.triggered', data }),
        key,
      ).to.throw(SequenceTriggerError, `data.${key}`);
    }
  });

  it('refuses a task type', () => {
    expect(() =>
      validateSequenceTrigger({
        type: 'sh.keptn.event.deliver.triggered',
        data: { project: 'p', stage: 'dev', service: 's' },
      }),
    ).to.throw(SequenceTriggerError);
  });

  it('builds <stage>.<sequence>.triggered with the scoped gitops data', () => {
    const t = buildSequenceTrigger({ project: 'p', stage: 'dev', service: 's' }, 'delivery', change, 'ctx-1');
    expect(t).to.deep.equal({
      type: 'sh.keptn.event.dev.delivery.triggered',
      stage: 'dev',
      sequence: 'delivery',
      shkeptncontext: 'ctx-1',
      data: { project: 'p', stage: 'dev', service: 's', labels: {}, gitops: { ...change, stage: 'dev' } },
    });
  });
});

describe('seen-revision keys and revisions', () => {
  it('makes ConfigMap keys of allowed characters, distinct for targets that sanitise alike', () => {
    const a = seenKey('flux', 'Kustomization/flux-system/a b');
    const b = seenKey('flux', 'Kustomization/flux-system/a:b');
    for (const k of [a, b]) expect(k).to.match(/^[-._a-zA-Z0-9]{1,253}$/);
    expect(a).not.to.equal(b);
    expect(seenKey('x'.repeat(400))).to.have.length.below(254);
  });

  it('treats branch@sha1:<sha>, legacy branch/<sha> and a bare sha of one commit as one revision, chart versions exactly', () => {
    const sha = '363a6a8fe6a7f13e05d34c163b0ef02a777da20a';
    expect(sameRevision(`main@sha1:${sha}`, `main/${sha}`)).to.equal(true);
    expect(sameRevision(`main@sha1:${sha}`, sha)).to.equal(true);
    expect(sameRevision('6.3.5', '6.3.6')).to.equal(false);
    expect(sameRevision('6.3.5', '6.3.5')).to.equal(true);
  });
});

describe('webhook auth', () => {
  const token = new Secret('s3cret-token');
  it('accepts exactly the Bearer token', () => {
    expect(bearerMatches('Bearer s3cret-token', token)).to.equal(true);
    expect(bearerMatches('bearer s3cret-token', token)).to.equal(true);
    expect(bearerMatches('Bearer s3cret-token2', token)).to.equal(false);
    expect(bearerMatches('s3cret-token', token)).to.equal(false);
    expect(bearerMatches(undefined, token)).to.equal(false);
  });

  it('checks sha256, sha1 and sha512 signatures over the raw bytes', async () => {
    const { createHmac } = await import('node:crypto');
    const body = Buffer.from('{"a": 1}');
    for (const alg of ['sha1', 'sha256', 'sha512']) {
      const sig = createHmac(alg, 'key').update(body).digest('hex');
      expect(hmacMatches(`${alg}=${sig}`, body, new Secret('key')), alg).to.equal(true);
      expect(hmacMatches(`${alg}=${sig}`, Buffer.from('{"a":1}'), new Secret('key')), alg).to.equal(false);
    }
    expect(hmacMatches('md5=abc', body, new Secret('key'))).to.equal(false);
  });
});

describe('flux metadata', () => {
  it('reads revision under the plain and the group-prefixed key', () => {
    const base = {
      involvedObject: { kind: 'Kustomization', name: 'a' },
      severity: 'info',
      reason: 'x',
      message: '',
    };
    expect(fluxMetadata({ ...base, metadata: { revision: 'r1', originRevision: 'o' } }, 'revision')).to.equal(
      'r1',
    );
    expect(
      fluxMetadata({ ...base, metadata: { 'kustomize.toolkit.fluxcd.io/revision': 'r2' } }, 'revision'),
    ).to.equal('r2');
    expect(fluxMetadata({ ...base, metadata: { originRevision: 'o' } }, 'revision')).to.equal(undefined);
  });
});
