{{/*
Names and labels shared by every template of the chart.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "apibase-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The fully qualified name of the release's objects: fullnameOverride, else RELEASE-NAME (just RELEASE when the
release name already contains the chart name). At most 63 characters: it is also a Service name.
*/}}
{{- define "apibase-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "apibase-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* helm.sh/chart: NAME-VERSION, "+" replaced (not allowed in a label value). */}}
{{- define "apibase-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The labels that select the operator's pods: they must never change (Deployment selectors are immutable). */}}
{{- define "apibase-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "apibase-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The recommended labels, on every object the chart renders. */}}
{{- define "apibase-operator.labels" -}}
helm.sh/chart: {{ include "apibase-operator.chart" . }}
{{ include "apibase-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: apibase
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The operator's ServiceAccount: the chart's own, or an existing one. */}}
{{- define "apibase-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "apibase-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The operator image: REPOSITORY:TAG (the tag defaults to the chart's appVersion), or REPOSITORY@DIGEST. */}}
{{- define "apibase-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The kopf liveness endpoint the operator serves, and the Deployment's liveness probe checks. */}}
{{- define "apibase-operator.livenessUrl" -}}
{{- printf "http://0.0.0.0:%d%s" (int .Values.livenessProbe.port) .Values.livenessProbe.path -}}
{{- end -}}
