import { expect } from 'chai';
import { leaseFor } from '../../service/leases/lease-time.js';
import {
  E2E_KEPTN_TOKEN,
  E2eSandbox,
  metricsText,
  metricValue,
  type RunningService,
} from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: remote, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 30s
`;
const NAMESPACE = 'keptn';
const POLLER_LEASE = 'gitops-service-poller';
const ELSEWHERE = 'replica-elsewhere';

/** A Lease another replica holds for the next hour. */
function heldElsewhere(name: string) {
  return leaseFor(undefined, {
    name,
    namespace: NAMESPACE,
    integrationName: 'gitops-service',
    holder: ELSEWHERE,
    durationSeconds: 3600,
    now: Date.now(),
  }) as unknown as Record<string, unknown> & { metadata: { name: string } };
}

describe('remote mode: a replica polls the Keptn API only once it holds the poller Lease', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let service: RunningService;

  beforeEach(async () => {
    sandbox = await E2eSandbox.start({ nats: false, controlPlaneToken: E2E_KEPTN_TOKEN, fluxDelayMs: 50 });
    sandbox.seedPodinfo();
    sandbox.writeTargets(TARGETS);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(service?.proc.lines.slice(-30).join('\n'));
    await sandbox.stop();
  });

  it('does not poll while another replica holds the Lease, then marks the triggers of the records as taken before its first poll', async () => {
    // Another replica polls, and delivers a trigger still open on the Keptn API (its record says so).
    sandbox.kube.create('Lease', heldElsewhere(POLLER_LEASE));
    sandbox.kube.create('Lease', heldElsewhere(`gitops-service-replica-${ELSEWHERE}`));
    const taken = sandbox.taskTrigger({ project: 'remote', stage: 'dev', service: 'podinfo' });
    await sandbox.saveDeliveryRecord(taken, ELSEWHERE);
    sandbox.controlPlane.injectTriggered(taken);

    service = await sandbox.startService({
      KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl,
      KEPTN_API_TOKEN: E2E_KEPTN_TOKEN,
      K8S_POD_NAME: 'replica-a',
      REPLICA_LEASE_SECONDS: '2',
    });
    const polls = () => sandbox.controlPlane.requestCount(/^GET \/api\/controlPlane\/v1\/event\/triggered\//);
    const leaseReads = () =>
      sandbox.kube.requestCount({ verb: 'get', resource: 'leases', name: POLLER_LEASE });
    // Standing by: it keeps trying for the Lease, and polls nothing meanwhile.
    const readsBefore = leaseReads();
    await eventually(() => expect(leaseReads()).to.be.at.least(readsBefore + 3), 20_000, 50);
    expect(polls(), 'polls while another replica holds the Lease').to.equal(0);
    expect(service.proc.output).not.to.include('this replica holds the poller lease');

    // The other replica is gone and its Lease with it: this one takes the Lease over and polls.
    sandbox.kube.store.delete(sandbox.kube.type('Lease'), NAMESPACE, POLLER_LEASE);
    await eventually(() => expect(polls()).to.be.greaterThan(0), 20_000, 50);
    const fresh = sandbox.taskTrigger({ project: 'remote', stage: 'dev', service: 'podinfo' });
    sandbox.controlPlane.injectTriggered(fresh);
    expect((await sandbox.finished(fresh, 30_000)).data).to.include({ status: 'succeeded', result: 'pass' });

    // Every poll listed the other replica's trigger too: it was known as taken before the first one
    // (passed over as a duplicate), not found taken by claiming it (which would mean it was handed on).
    const metrics = await metricsText(service);
    expect(metricValue(metrics, 'keptn_events_rejected_total{reason="duplicate"}')).to.equal(1);
    expect(metricValue(metrics, 'keptn_events_rejected_total{reason="taken"}')).to.equal(0);
    expect(
      sandbox.answers(taken).started,
      'no .started for the trigger another replica delivers',
    ).to.have.length(0);
    expect(sandbox.answers(taken).finished).to.have.length(0);
  });
});
