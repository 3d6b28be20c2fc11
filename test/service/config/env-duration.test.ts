import { expect } from 'chai';
import { hostname } from 'node:os';
import { formatDuration, parseDuration } from '../../../service/config/duration.js';
import { EnvError, readEnv } from '../../../service/config/env.js';

describe('readEnv', () => {
  it('uses the defaults of the README, "Environment"', () => {
    const env = readEnv({}, '1.2.3');
    expect(env).to.deep.include({
      eventBroker: 'nats://keptn-nats',
      keptnApiEndpoint: undefined,
      httpSslVerify: true,
      shipyardController: 'http://shipyard-controller:8080',
      pubsubTopics: [],
      tasks: ['deliver'],
      integrationName: 'gitops-service',
      namespace: 'keptn',
      podName: hostname(),
      nodeName: hostname(),
      deploymentName: 'gitops-service',
      deploymentVersion: '1.2.3',
      location: 'control-plane',
      healthPort: 8080,
      webhookPort: 8090,
      configFile: '/etc/keptn-gitops/config.yaml',
      logLevel: 'info',
    });
  });

  it('reads lists, ports and the remote mode', () => {
    const env = readEnv({
      TASKS: 'deliver, deployment',
      PUBSUB_TOPIC: 'sh.keptn.event.test.triggered,sh.keptn.event.rollback.triggered',
      WEBHOOK_PORT: '9000',
      KEPTN_API_ENDPOINT: 'https://keptn.example.com/api/',
      HTTP_SSL_VERIFY: 'false',
      INTEGRATION_NAME: 'gitops',
    });
    expect(env.tasks).to.deep.equal(['deliver', 'deployment']);
    expect(env.pubsubTopics).to.deep.equal([
      'sh.keptn.event.test.triggered',
      'sh.keptn.event.rollback.triggered',
    ]);
    expect(env.webhookPort).to.equal(9000);
    expect(env.keptnApiEndpoint).to.equal('https://keptn.example.com/api');
    expect(env.location).to.equal('remote-execution-plane');
    expect(env.httpSslVerify).to.equal(false);
    expect(env.deploymentName).to.equal('gitops');
  });

  it('treats empty variables as unset', () => {
    expect(readEnv({ TASKS: '', WEBHOOK_PORT: '' }).tasks).to.deep.equal(['deliver']);
  });

  it('names every bad variable and what is wrong', () => {
    const err = envError(() =>
      readEnv({
        WEBHOOK_PORT: 'eighty',
        HEALTH_ENDPOINT_PORT: '70000',
        LOG_LEVEL: 'verbose',
        KEPTN_API_ENDPOINT: 'keptn.example.com',
        TASKS: ' , ',
      }),
    );
    const names = err.problems.map((p) => p.split(':')[0]);
    expect(names).to.have.members([
      'WEBHOOK_PORT',
      'HEALTH_ENDPOINT_PORT',
      'LOG_LEVEL',
      'KEPTN_API_ENDPOINT',
      'TASKS',
    ]);
  });

  it('does not show the Keptn API token when something else is wrong', () => {
    const err = envError(() => readEnv({ KEPTN_API_TOKEN: 'super-secret-token', WEBHOOK_PORT: 'x' }));
    expect(err.problems.map((p) => p.split(':')[0])).to.deep.equal(['WEBHOOK_PORT']);
    expect(err.message).not.to.include('super-secret-token');
    expect(err.problems.join('\n')).not.to.include('super-secret-token');
  });
});

/** The EnvError `read` throws; fails the test when it throws nothing or another error. */
function envError(read: () => unknown): EnvError {
  let thrown: unknown;
  try {
    read();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'readEnv throws an EnvError').to.be.instanceOf(EnvError);
  return thrown as EnvError;
}

describe('durations', () => {
  it('parses 90s, 10m, 1h, 1h30m and 500ms', () => {
    expect(parseDuration('90s')).to.equal(90_000);
    expect(parseDuration('10m')).to.equal(600_000);
    expect(parseDuration('1h')).to.equal(3_600_000);
    expect(parseDuration('1h30m')).to.equal(5_400_000);
    expect(parseDuration('500ms')).to.equal(500);
  });

  it('refuses what is not a duration', () => {
    for (const text of ['', '10', 'ten', '10d', 'm', '1.5h'])
      expect(parseDuration(text), text).to.equal(undefined);
  });

  it('formats milliseconds for messages', () => {
    expect(formatDuration(450)).to.equal('450ms');
    expect(formatDuration(90_000)).to.equal('1m30s');
    expect(formatDuration(600_000)).to.equal('10m');
  });
});
