import { expect } from 'chai';
import { deriveSubscriptions } from '../../../service/config/subscriptions.js';
import { parseTargetsFile } from '../../../service/config/targets-loader.js';

const config = (targets: string) => parseTargetsFile(`targets:\n${targets}`, 'targets.yaml', {});
const rule = (match: string) => `  - match: ${match}\n    flux: {kind: Kustomization, name: a}\n`;

describe('deriveSubscriptions', () => {
  it('subscribes per project with the union of its stages and services', () => {
    const c = config(
      rule('{project: shop, stage: dev, service: carts}') +
        rule('{project: shop, stage: [staging, dev], service: orders}') +
        rule('{project: pod, stage: prod, service: hello}'),
    );
    expect(deriveSubscriptions(c, ['deliver'], [])).to.deep.equal([
      {
        event: 'sh.keptn.event.deliver.triggered',
        filter: { projects: ['shop'], stages: ['dev', 'staging'], services: ['carts', 'orders'] },
      },
      {
        event: 'sh.keptn.event.deliver.triggered',
        filter: { projects: ['pod'], stages: ['prod'], services: ['hello'] },
      },
    ]);
  });

  it('expands a list of projects', () => {
    const c = config(rule('{project: [a, b], stage: dev}'));
    expect(deriveSubscriptions(c, ['deliver'], []).map((s) => s.filter)).to.deep.equal([
      { projects: ['a'], stages: ['dev'], services: [] },
      { projects: ['b'], stages: ['dev'], services: [] },
    ]);
  });

  it('leaves out the stage filter when a rule of the project has no stage, and then the services too', () => {
    const c = config(
      rule('{project: shop, stage: dev, service: carts}') + rule('{project: shop, service: orders}'),
    );
    expect(deriveSubscriptions(c, ['deliver'], [])[0]!.filter).to.deep.equal({
      projects: ['shop'],
      stages: [],
      services: [],
    });
  });

  it('leaves out the service filter when a rule of the project has no service', () => {
    const c = config(
      rule('{project: shop, stage: dev, service: carts}') + rule('{project: shop, stage: prod}'),
    );
    expect(deriveSubscriptions(c, ['deliver'], [])[0]!.filter).to.deep.equal({
      projects: ['shop'],
      stages: ['dev', 'prod'],
      services: [],
    });
  });

  it('never sends services without stages, which Keptn refuses', () => {
    const c = config(rule('{project: shop, service: carts}'));
    const [sub] = deriveSubscriptions(c, ['deliver'], []);
    expect(sub!.filter).to.deep.equal({ projects: ['shop'], stages: [], services: [] });
  });

  it('subscribes unfiltered when any rule has no project', () => {
    const c = config(rule('{project: shop, stage: dev}') + rule('{stage: prod}'));
    expect(deriveSubscriptions(c, ['deliver', 'deployment'], [])).to.deep.equal([
      { event: 'sh.keptn.event.deliver.triggered', filter: { projects: [], stages: [], services: [] } },
      { event: 'sh.keptn.event.deployment.triggered', filter: { projects: [], stages: [], services: [] } },
    ]);
  });

  it('subscribes to no task when there are no rules (it would claim tasks it cannot serve)', () => {
    expect(deriveSubscriptions(parseTargetsFile('', 'f', {}), ['deliver'], [])).to.deep.equal([]);
    expect(
      deriveSubscriptions(
        parseTargetsFile('targets: []', 'f', {}),
        ['deliver', 'deployment'],
        ['sh.keptn.event.test.triggered'],
      ),
    ).to.deep.equal([
      { event: 'sh.keptn.event.test.triggered', filter: { projects: [], stages: [], services: [] } },
    ]);
  });

  it('repeats the per-project subscriptions for each task', () => {
    const c = config(rule('{project: shop, stage: dev}'));
    expect(deriveSubscriptions(c, ['deliver', 'deployment'], []).map((s) => s.event)).to.deep.equal([
      'sh.keptn.event.deliver.triggered',
      'sh.keptn.event.deployment.triggered',
    ]);
  });

  it('adds an unfiltered subscription for each PUBSUB_TOPIC subject', () => {
    const c = config(rule('{project: shop, stage: dev}'));
    const subs = deriveSubscriptions(
      c,
      ['deliver'],
      ['sh.keptn.event.rollback.triggered', 'sh.keptn.event.test.triggered'],
    );
    expect(subs.slice(1)).to.deep.equal([
      { event: 'sh.keptn.event.rollback.triggered', filter: { projects: [], stages: [], services: [] } },
      { event: 'sh.keptn.event.test.triggered', filter: { projects: [], stages: [], services: [] } },
    ]);
  });
});
