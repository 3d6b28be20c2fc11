import { expect } from 'chai';
import { describeArgoPhase, describeFluxPhase } from '../../../service/cli/tool-phase.js';

const flux = (
  conditions: { type: string; status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string }[],
  suspend = false,
) => ({
  metadata: { name: 'podinfo', namespace: 'flux-system' },
  spec: { suspend },
  status: { conditions },
});

describe("trigger --wait: the tool's own phase", () => {
  it('Flux: health checks while kustomize-controller runs them, else reconciling, with its message', () => {
    expect(
      describeFluxPhase(
        flux([
          {
            type: 'Reconciling',
            status: 'True',
            reason: 'Progressing',
            message: 'Running health checks for revision main@sha1:abc with a timeout of 5m0s',
          },
        ]),
      ),
    ).to.equal('health checks: Running health checks for revision main@sha1:abc with a timeout of 5m0s');
    expect(
      describeFluxPhase(
        flux([
          {
            type: 'Reconciling',
            status: 'True',
            reason: 'Progressing',
            message: 'Reconciliation in progress',
          },
        ]),
      ),
    ).to.equal('reconciling: Reconciliation in progress');
  });

  it('Flux: stalled, ready, not ready, suspended', () => {
    expect(
      describeFluxPhase(
        flux([{ type: 'Stalled', status: 'True', message: 'health check failed after 30s' }]),
      ),
    ).to.equal('stalled: health check failed after 30s');
    expect(
      describeFluxPhase(
        flux([{ type: 'Ready', status: 'True', message: 'Applied revision: main@sha1:abc' }]),
      ),
    ).to.equal('ready: Applied revision: main@sha1:abc');
    expect(
      describeFluxPhase(flux([{ type: 'Ready', status: 'False', message: 'kustomize build failed' }])),
    ).to.equal('not ready: kustomize build failed');
    expect(describeFluxPhase(flux([], true))).to.equal('suspended');
  });

  it('Argo CD: operation phase and message, sync and health status', () => {
    const app = {
      metadata: { name: 'carts' },
      status: {
        operationState: { phase: 'Running', message: 'waiting for healthy state of apps/Deployment/carts' },
        sync: { status: 'OutOfSync' },
        health: { status: 'Progressing' },
      },
    };
    expect(describeArgoPhase(app)).to.equal(
      'operation Running (waiting for healthy state of apps/Deployment/carts), sync OutOfSync, health Progressing',
    );
    expect(
      describeArgoPhase({
        metadata: { name: 'carts' },
        status: { sync: { status: 'Synced' }, health: { status: 'Healthy' } },
      }),
    ).to.equal('sync Synced, health Healthy');
  });
});
