import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FLUX_SOURCE_KINDS } from '../../service/webhooks/flux-decision.js';
import { repoRoot } from '../support/paths.js';

describe('docs/flux', () => {
  it("the Alert sends the events of every source kind the service starts sequences for, and of the kinds it deploys", () => {
    const alert = parse(readFileSync(join(repoRoot, 'docs', 'flux', 'alert.yaml'), 'utf8')) as { spec: { eventSources: { kind: string; name: string }[] } };
    const kinds = alert.spec.eventSources.map((s) => s.kind);
    expect(kinds).to.include.members([...FLUX_SOURCE_KINDS, 'Kustomization', 'HelmRelease']);
    expect(kinds).to.include('Bucket');
  });
});
