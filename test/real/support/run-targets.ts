/** The Secret (in the release namespace) the chart's `webhooks.existingSecret` names. */
export const WEBHOOK_SECRET = 'keptn-gitops-webhooks';

/**
 * The targets file of the whole run, given to the chart as `targets.config`: the service reads it
 * back from the chart's ConfigMap. Project `shop`, stage `dev`; one service per scenario.
 */
export const RUN_TARGETS = {
  webhooks: { fluxHmacKeyEnv: 'FLUX_WEBHOOK_HMAC_KEY' },
  targets: [
    {
      match: { project: 'shop', stage: 'dev', service: 'podinfo' },
      flux: { kind: 'Kustomization', name: 'podinfo', namespace: 'flux-system' },
      timeout: '3m',
    },
    {
      match: { project: 'shop', stage: 'dev', service: 'podinfo-fresh' },
      flux: { kind: 'Kustomization', name: 'podinfo', namespace: 'flux-system', withSource: true },
      timeout: '3m',
    },
    {
      match: { project: 'shop', stage: 'dev', service: 'web' },
      flux: { kind: 'HelmRelease', name: 'web', namespace: 'flux-system', withSource: true },
      timeout: '3m',
    },
    {
      match: { project: 'shop', stage: 'dev', service: ['stuck', 'broken', 'late', 'paused', 'ghost'] },
      flux: { kind: 'Kustomization', name: '${service}', namespace: 'flux-system', withSource: true },
      timeout: '5m',
    },
    {
      match: { project: 'shop', stage: 'dev', service: 'pulled' },
      flux: { kind: 'Kustomization', name: 'pulled', namespace: 'flux-system' },
      onChange: { sequence: 'delivery' },
    },
  ],
};
