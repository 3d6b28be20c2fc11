{{/*
Names, labels and the small computed values shared by the templates.
*/}}

{{- define "keptn-gitops-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release fullname: also the default INTEGRATION_NAME and K8S_DEPLOYMENT_NAME, so two releases
(or one with nameOverride) register as two distinct Keptn integrations.
*/}}
{{- define "keptn-gitops-service.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "keptn-gitops-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keptn-gitops-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keptn-gitops-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keptn-gitops-service.labels" -}}
helm.sh/chart: {{ include "keptn-gitops-service.chart" . }}
{{ include "keptn-gitops-service.selectorLabels" . }}
app.kubernetes.io/version: {{ include "keptn-gitops-service.version" . | quote }}
app.kubernetes.io/component: execution-plane
app.kubernetes.io/part-of: keptn
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The image tag, the appVersion unless image.tag is set: also K8S_DEPLOYMENT_VERSION. */}}
{{- define "keptn-gitops-service.version" -}}
{{- .Values.image.tag | default .Chart.AppVersion | trunc 63 }}
{{- end }}

{{- define "keptn-gitops-service.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "keptn-gitops-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keptn-gitops-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "keptn-gitops-service.integrationName" -}}
{{- default (include "keptn-gitops-service.fullname" .) .Values.integrationName }}
{{- end }}

{{/* The ConfigMap holding the targets file: the chart's own, or targets.existingConfigMap. */}}
{{- define "keptn-gitops-service.targetsConfigMap" -}}
{{- default (printf "%s-targets" (include "keptn-gitops-service.fullname" .)) .Values.targets.existingConfigMap }}
{{- end }}

{{/* The Secret holding KEPTN_API_TOKEN in remote mode: the chart's own, or api.tokenSecretName. */}}
{{- define "keptn-gitops-service.apiTokenSecret" -}}
{{- default (printf "%s-api-token" (include "keptn-gitops-service.fullname" .)) .Values.remoteControlPlane.api.tokenSecretName }}
{{- end }}

{{/* SIGTERM waits SHUTDOWN_TIMEOUT seconds for running deliveries; Kubernetes must wait longer. */}}
{{- define "keptn-gitops-service.terminationGracePeriodSeconds" -}}
{{- $shutdown := int .Values.shutdownTimeout }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $shutdown 15 }}
{{- else if le (int .Values.terminationGracePeriodSeconds) $shutdown }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than shutdownTimeout (%d), or running deliveries are killed" (int .Values.terminationGracePeriodSeconds) $shutdown) }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Refuses values that would install a service that cannot start. */}}
{{- define "keptn-gitops-service.validate" -}}
{{- $api := .Values.remoteControlPlane.api }}
{{- if .Values.remoteControlPlane.enabled }}
{{- if not $api.hostname }}
{{- fail "remoteControlPlane.enabled needs remoteControlPlane.api.hostname (e.g. keptn.example.com)" }}
{{- end }}
{{- if and $api.token $api.tokenSecretName }}
{{- fail "set remoteControlPlane.api.token or remoteControlPlane.api.tokenSecretName, not both" }}
{{- end }}
{{- if not (or $api.token $api.tokenSecretName) }}
{{- fail "remoteControlPlane.enabled needs remoteControlPlane.api.tokenSecretName (recommended) or remoteControlPlane.api.token" }}
{{- end }}
{{- end }}
{{- if and .Values.targets.existingConfigMap .Values.targets.config }}
{{- fail "set targets.config or targets.existingConfigMap, not both" }}
{{- end }}
{{- end }}
