/** The targets-file example of the service's specification, verbatim. */
export const PRODUCT_EXAMPLE = `
argocd:
  instances:                         # optional; "default" comes from ARGOCD_SERVER/ARGOCD_AUTH_TOKEN
    - name: prod
      server: https://argocd.prod.example.com   # URL, or host[:port] meaning https
      tokenEnv: ARGOCD_PROD_TOKEN                # or usernameEnv + passwordEnv (session login)
      caFile: /etc/keptn-gitops/prod-ca.crt      # optional; insecure: true only on purpose
webhooks:                            # a missing key disables that endpoint (404)
  argocdTokenEnv: ARGOCD_WEBHOOK_TOKEN   # Argo CD sends "Authorization: Bearer <token>"
  fluxHmacKeyEnv: FLUX_WEBHOOK_HMAC_KEY  # Flux generic-hmac: "X-Signature: sha256=<hex>"
  fluxTokenEnv: FLUX_WEBHOOK_TOKEN       # Flux generic with a Secret header "Authorization: Bearer <token>"
targets:                             # first match wins
  - match: {project: sockshop, stage: dev}     # omitted keys match anything; a value may be a list
    argocd:
      application: "\${service}-\${stage}"
      instance: prod                           # default: default
      appNamespace: argocd                     # apps in any namespace; default: the server's
      project: sockshop                        # Argo CD project, for RBAC scoping
      prune: false
      syncOptions: [ServerSideApply=true]
      onRunningOperation: wait                 # wait | terminate | fail
    timeout: 10m                               # default 10m
    deploymentName: direct                     # default: direct (see "Events")
  - match: {project: podtato, stage: dev, service: helloservice}
    flux:
      kind: Kustomization                      # or HelmRelease
      name: helloservice
      namespace: flux-system
      withSource: true                         # reconcile the source first, like flux reconcile --with-source
      force: false                             # HelmRelease only: forceAt = requestedAt
    onChange: {sequence: delivery}             # pull direction; needs a single project, stage and service, no placeholders
`;

export const EXAMPLE_ENV = {
  ARGOCD_PROD_TOKEN: 'prod-token-secret',
  ARGOCD_WEBHOOK_TOKEN: 'webhook-token-secret',
  FLUX_WEBHOOK_HMAC_KEY: 'hmac-key-secret',
  FLUX_WEBHOOK_TOKEN: 'flux-token-secret',
};
