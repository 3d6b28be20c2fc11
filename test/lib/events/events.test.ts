import { readdirSync } from 'node:fs';
import { expect } from 'chai';
import {
  createErrorLogEvent,
  createFinishedEvent,
  createSequenceTriggeredEvent,
  createStartedEvent,
  encodeKeptnEvent,
  isSequenceEventType,
  isTaskEventType,
  parseKeptnEvent,
  parseTaskEventType,
  taskEventType,
  type KeptnEvent,
} from '../../../lib/index.js';
import { fixturePath, readFixture } from '../../support/paths.js';

const trigger = () => readFixture<KeptnEvent>('keptn', '05-trace-deployment.triggered.json');

describe('Keptn event model', () => {
  it('parses every Keptn fixture', () => {
    const files = readdirSync(fixturePath('keptn')).filter((f) => f.endsWith('.json'));
    expect(files.length).to.be.greaterThan(5);
    for (const f of files) {
      const r = parseKeptnEvent(JSON.stringify(readFixture('keptn', f)));
      expect(r.ok, f).to.equal(true);
    }
  });

  it('accepts contenttype and datacontenttype and fills in the other spelling', () => {
    const a = parseKeptnEvent(
      JSON.stringify(readFixture('keptn', '09-webhook.triggered-with-subscriptionID.json')),
    );
    const b = parseKeptnEvent(JSON.stringify(readFixture('keptn', '01-spec-deployment.triggered.json')));
    if (!a.ok || !b.ok) throw new Error('fixtures must parse');
    expect(a.event.datacontenttype).to.equal('application/json');
    expect(b.event.contenttype).to.equal('application/json');
  });

  it('rejects malformed input with a reason', () => {
    const cases: [string | Uint8Array, string][] = [
      ['', 'empty'],
      ['{not json', 'invalid-json'],
      ['[1,2]', 'not-an-object'],
      ['"text"', 'not-an-object'],
      ['null', 'not-an-object'],
      ['{"data":{}}', 'missing-field'],
      ['{"type":42}', 'invalid-field'],
      ['{"type":"sh.keptn.event.a.triggered","data":[1]}', 'invalid-field'],
      ['{"type":"sh.keptn.event.a.triggered","id":7}', 'invalid-field'],
      [new TextEncoder().encode('\u0000\u0001'), 'invalid-json'],
    ];
    for (const [input, reason] of cases) {
      const r = parseKeptnEvent(input);
      expect(r.ok, String(input)).to.equal(false);
      if (!r.ok) expect(r.reason, String(input)).to.equal(reason);
    }
  });

  it('round-trips through the codec', () => {
    const e = trigger();
    const r = parseKeptnEvent(encodeKeptnEvent(e));
    expect(r.ok && r.event.data).to.deep.equal(e.data);
  });

  it('builds a .started that matches the real trace where the contract requires it', () => {
    const expected = readFixture<KeptnEvent>('keptn', '06-trace-deployment.started.json');
    const started = createStartedEvent(trigger(), 'helm-service');
    for (const key of ['type', 'shkeptncontext', 'triggeredid', 'specversion', 'source'] as const)
      expect(started[key], key).to.equal(expected[key]);
    for (const key of ['project', 'stage', 'service'] as const)
      expect(started.data[key]).to.equal(expected.data[key]);
    expect(started.id)
      .to.match(/^[0-9a-f-]{36}$/)
      .and.not.equal(trigger().id);
    expect(started.shkeptnspecversion).to.equal('0.2.4');
    expect(started.contenttype).to.equal('application/json');
    expect(started.datacontenttype).to.equal('application/json');
    expect(started.data).to.not.have.property('configurationChange');
    expect(Date.parse(started.time!)).to.be.closeTo(Date.now(), 5000);
  });

  it('builds a .finished that matches the real trace where the contract requires it', () => {
    const expected = readFixture<KeptnEvent>('keptn', '07-trace-deployment.finished.json');
    const finished = createFinishedEvent(trigger(), 'helm-service', {
      message: 'Successfully deployed',
      deployment: expected.data.deployment,
    });
    for (const key of ['type', 'shkeptncontext', 'triggeredid'] as const)
      expect(finished[key], key).to.equal(expected[key]);
    expect(finished.data).to.deep.equal(expected.data);
  });

  it('defaults .finished to succeeded/pass and keeps the trigger labels and scope', () => {
    const parent = { ...trigger(), gitcommitid: 'abc1234', data: { ...trigger().data, labels: { a: '1' } } };
    const f = createFinishedEvent(parent, 'x', { project: 'other', labels: { a: '2', b: '3' } });
    expect(f.data).to.include({
      status: 'succeeded',
      result: 'pass',
      project: 'sockshop',
      stage: 'dev',
      service: 'carts',
    });
    expect(f.data.labels).to.deep.equal({ a: '1', b: '3' });
    expect(f.gitcommitid).to.equal('abc1234');
    const s = createStartedEvent(parent, 'x');
    expect(s.gitcommitid).to.equal('abc1234');
    expect(s.data.labels).to.deep.equal({ a: '1' });
  });

  it('builds error logs and sequence triggers', () => {
    const log = createErrorLogEvent(trigger(), 'x', 'boom', { integrationId: 'i1' });
    expect(log.type).to.equal('sh.keptn.log.error');
    expect(log.data).to.include({ message: 'boom', task: 'deployment', integrationid: 'i1' });
    const seq = createSequenceTriggeredEvent({
      stage: 'dev',
      sequence: 'delivery',
      source: 'gitops-service',
      data: { project: 'p', service: 's' },
    });
    expect(seq.type).to.equal('sh.keptn.event.dev.delivery.triggered');
    expect(seq.data).to.include({ project: 'p', stage: 'dev', service: 's' });
    expect(seq.shkeptncontext).to.match(/^[0-9a-f-]{36}$/);
    expect(seq).to.not.have.property('triggeredid');
    expect(
      createSequenceTriggeredEvent({
        stage: 'dev',
        sequence: 'd',
        source: 's',
        data: { project: 'p', service: 's' },
        shkeptncontext: 'c',
      }).shkeptncontext,
    ).to.equal('c');
  });

  it('classifies event types by their parts', () => {
    expect(isTaskEventType('sh.keptn.event.deployment.triggered')).to.equal(true);
    expect(isSequenceEventType('sh.keptn.event.dev.delivery.triggered')).to.equal(true);
    expect(isTaskEventType('sh.keptn.event.dev.delivery.triggered')).to.equal(false);
    expect(isSequenceEventType('sh.keptn.event.x.status.changed')).to.equal(true);
    expect(isTaskEventType('sh.keptn.event..triggered')).to.equal(false);
    expect(isTaskEventType('sh.keptn.log.error')).to.equal(false);
    expect(parseTaskEventType('sh.keptn.event.deliver.finished')).to.deep.equal({
      task: 'deliver',
      kind: 'finished',
    });
    expect(taskEventType('deliver', 'started')).to.equal('sh.keptn.event.deliver.started');
  });
});
