{{/*
The RBAC rules: exactly the verbs and resources the service uses, one rule per API group.
Kept as plain static YAML (test/chart/chart-rbac.ts parses this file with the template lines
stripped), so a review or a test can compare them with the code.
*/}}

{{/* Flux: get/list/watch to follow a reconcile, patch for reconcile.fluxcd.io/requestedAt. */}}
{{- define "keptn-gitops-service.rules.flux" }}
- apiGroups: ["kustomize.toolkit.fluxcd.io"]
  resources: ["kustomizations"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["helm.toolkit.fluxcd.io"]
  resources: ["helmreleases"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["source.toolkit.fluxcd.io"]
  resources: ["gitrepositories", "ocirepositories", "buckets", "helmcharts"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}

{{/* Service state in the release namespace: seen revisions, Argo CD delivery records, the Lease. */}}
{{- define "keptn-gitops-service.rules.state" }}
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "create", "update", "patch", "delete"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "list", "create", "update", "delete"]
{{- end }}

{{/* `keptn-gitops check` asks the API server whether the patches above are allowed. */}}
{{- define "keptn-gitops-service.rules.check" }}
- apiGroups: ["authorization.k8s.io"]
  resources: ["selfsubjectaccessreviews"]
  verbs: ["create"]
{{- end }}
