import { expect } from 'chai';
import {
  MemorySeenRevisions,
  RevisionHistory,
  sameRevision,
  seenKey,
} from '../../../service/state/seen-revisions.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('seen revisions', () => {
  it('never takes a missing revision for a seen one', () => {
    expect(sameRevision(undefined, `main@sha1:${SHA}`)).to.equal(false);
    expect(sameRevision(`main@sha1:${SHA}`, undefined)).to.equal(false);
    expect(sameRevision(undefined, undefined)).to.equal(false);
  });

  it('matches spellings of one commit only on the full sha: two branches at the same short sha are different revisions', () => {
    expect(sameRevision('main@sha1:abc1234', 'release/abc1234')).to.equal(false);
    expect(sameRevision(`main@sha1:${SHA}`, `release/${SHA}`)).to.equal(true);
  });

  it('keys a target readably, one run of unusual characters becoming one underscore', () => {
    expect(seenKey('flux', 'Kustomization/flux-system/podinfo')).to.match(
      /^flux\.Kustomization_flux-system_podinfo\.[0-9a-f]{12}$/,
    );
    expect(seenKey('argocd', 'a  b')).to.match(/^argocd\.a_b\.[0-9a-f]{12}$/);
  });

  it('gives targets whose parts only join alike different keys', () => {
    expect(seenKey('a.', 'b')).not.to.equal(seenKey('a', '.b'));
  });

  it('reads a stored history with blank lines as its revisions only', () => {
    expect(RevisionHistory.parse('a\n\nb\n')).to.deep.equal(['a', 'b']);
    expect(RevisionHistory.parse(undefined)).to.deep.equal([]);
  });

  it('removes one revision from a history, in any spelling, and keeps the others', () => {
    expect(RevisionHistory.remove(['1.0.0', `main@sha1:${SHA}`, '2.0.0'], `main/${SHA}`)).to.deep.equal([
      '1.0.0',
      '2.0.0',
    ]);
  });

  it('in memory: forgetting one revision keeps the rest of the target history seen', async () => {
    const seen = new MemorySeenRevisions();
    expect(await seen.has('t', 'A')).to.equal(false);
    expect(await seen.markIfNew('t', 'A')).to.equal(true);
    expect(await seen.markIfNew('t', 'B')).to.equal(true);
    expect(await seen.markIfNew('t', 'A')).to.equal(false);
    await seen.forget('t', 'B');
    expect(await seen.has('t', 'A'), 'A still seen').to.equal(true);
    expect(await seen.has('t', 'B')).to.equal(false);
    await seen.forget('t', 'A');
    expect(await seen.markIfNew('t', 'A'), 'new again once forgotten').to.equal(true);
  });
});
