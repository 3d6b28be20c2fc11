import { expect } from 'chai';
import {
  createErrorLogEvent,
  createFinishedEvent,
  createStartedEvent,
  createTaskTriggeredEvent,
  encodeKeptnEvent,
  type KeptnEvent,
} from '../../../lib/index.js';
import { readFixture } from '../../support/paths.js';

const now = () => new Date('2026-12-06T12:00:00.123Z');
const trigger = () => readFixture<KeptnEvent>('keptn', '05-trace-deployment.triggered.json');
const parent = () => ({
  ...trigger(),
  gitcommitid: 'abc1234',
  data: { ...trigger().data, labels: { team: 'a' } },
});

/** The bytes on NATS and to the Keptn API, with the event's own random id replaced by ID. */
function wire(event: KeptnEvent): string {
  expect(event.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  return new TextDecoder().decode(encodeKeptnEvent({ ...event, id: 'ID' }));
}

const ENVELOPE =
  '"time":"2026-12-06T12:00:00.123Z","contenttype":"application/json","datacontenttype":"application/json"';
const ANSWER = `${ENVELOPE},"shkeptncontext":"62cca6f3-dc54-4df6-a04c-6ffc894a4b5e","shkeptnspecversion":"0.2.4","triggeredid":"ffd870da-bca7-49a1-bafd-726c234bfd3b"`;

/**
 * The exact structured JSON the service sends, byte for byte as Keptn's Go consumers have read it
 * from the first version on: attribute order, both content-type spellings, the Keptn extensions.
 */
describe('Keptn events on the wire', () => {
  it('.started', () => {
    expect(wire(createStartedEvent(parent(), 'gitops-service', { now }))).to.equal(
      `{"specversion":"1.0","id":"ID","source":"gitops-service","type":"sh.keptn.event.deployment.started",${ANSWER},"data":{"project":"sockshop","stage":"dev","service":"carts","labels":{"team":"a"}},"gitcommitid":"abc1234"}`,
    );
  });

  it('.finished', () => {
    expect(
      wire(
        createFinishedEvent(
          parent(),
          'gitops-service',
          { message: 'ok', gitops: { revision: 'r1' } },
          { now },
        ),
      ),
    ).to.equal(
      `{"specversion":"1.0","id":"ID","source":"gitops-service","type":"sh.keptn.event.deployment.finished",${ANSWER},"data":{"project":"sockshop","stage":"dev","service":"carts","labels":{"team":"a"},"message":"ok","gitops":{"revision":"r1"},"status":"succeeded","result":"pass"},"gitcommitid":"abc1234"}`,
    );
  });

  it('sh.keptn.log.error', () => {
    expect(
      wire(createErrorLogEvent(trigger(), 'gitops-service', 'boom', { now, integrationId: 'i1' })),
    ).to.equal(
      `{"specversion":"1.0","id":"ID","source":"gitops-service","type":"sh.keptn.log.error",${ANSWER},"data":{"project":"sockshop","stage":"dev","service":"carts","message":"boom","task":"deployment","integrationid":"i1"}}`,
    );
  });

  it('a task trigger (no triggeredid)', () => {
    const event = createTaskTriggeredEvent({
      task: 'deliver',
      source: 'cli',
      data: { project: 'p', stage: 's', service: 'v' },
      shkeptncontext: 'ctx-1',
      now,
    });
    expect(wire(event)).to.equal(
      `{"specversion":"1.0","id":"ID","source":"cli","type":"sh.keptn.event.deliver.triggered",${ENVELOPE},"shkeptncontext":"ctx-1","shkeptnspecversion":"0.2.4","data":{"labels":{},"project":"p","stage":"s","service":"v"}}`,
    );
  });
});
