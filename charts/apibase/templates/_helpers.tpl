{{/*
Names, labels and the ApiBase spec, shared by the chart's templates.
*/}}

{{/* The chart name, or nameOverride: the app.kubernetes.io/name label. */}}
{{- define "apibase.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The ApiBase's name: fullnameOverride, else the release name. The operator names the service's Deployment,
Service, ServiceAccount... after it, so it is the service's name in the cluster (a DNS label, at most 63).
*/}}
{{- define "apibase.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* helm.sh/chart: NAME-VERSION, "+" replaced (not allowed in a label value). */}}
{{- define "apibase.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* An image reference from {repository, tag, digest}: REPOSITORY@DIGEST, or REPOSITORY:TAG. */}}
{{- define "apibase.imageRef" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{/* The service's image (spec.image); the tag defaults to the chart's appVersion. */}}
{{- define "apibase.image" -}}
{{- $image := .Values.image -}}
{{- include "apibase.imageRef" (dict "repository" $image.repository "digest" $image.digest "tag" (default .Chart.AppVersion $image.tag)) -}}
{{- end -}}

{{/* The canary's image (spec.canary.image): its own repository or the service's, and a tag or digest. */}}
{{- define "apibase.canaryImage" -}}
{{- $canary := .Values.canary.image -}}
{{- if not (or $canary.tag $canary.digest) -}}
{{- fail "canary.enabled needs canary.image.tag or canary.image.digest" -}}
{{- end -}}
{{- include "apibase.imageRef" (dict "repository" (default .Values.image.repository $canary.repository) "digest" $canary.digest "tag" $canary.tag) -}}
{{- end -}}

{{/*
app.kubernetes.io/version: the service's image tag as a label value (as the operator labels what it creates),
or sha256-<12 hex digits> for a digest.
*/}}
{{- define "apibase.version" -}}
{{- if .Values.image.digest -}}
{{- printf "sha256-%s" (.Values.image.digest | trimPrefix "sha256:" | trunc 12) -}}
{{- else -}}
{{- regexReplaceAll "[^A-Za-z0-9_.-]" (default .Chart.AppVersion .Values.image.tag) "" | trunc 63 | trimAll "-_." -}}
{{- end -}}
{{- end -}}

{{/* The recommended labels, on every object the chart renders. */}}
{{- define "apibase.labels" -}}
helm.sh/chart: {{ include "apibase.chart" . }}
app.kubernetes.io/name: {{ include "apibase.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "apibase.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: apibase
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The Dapr app id: dapr.appId, or the ApiBase's name (as the operator computes it). */}}
{{- define "apibase.daprAppId" -}}
{{- default (include "apibase.fullname" .) .Values.dapr.appId -}}
{{- end -}}

{{/*
spec.env: the values' env, then the settings naming the Dapr components the chart renders itself
(extraDaprComponents), as the operator names those of dapr.components (reconcile/dapr.py, app_settings): the
first pubsub./state./secretstores. component loaded by this app (scoped to its id, or unscoped) of a building
block dapr.components has none of becomes APIBASE_DAPR__PUBSUB / __STATE_STORE / __SECRET_STORE, and a pubsub
one sets APIBASE_EVENTS__PUBLISHER=dapr. A variable the values' env already names is left as it is. A YAML list.
*/}}
{{- define "apibase.env" -}}
{{- $v := .Values -}}
{{- $env := concat list ($v.env | default list) -}}
{{- if $v.dapr.enabled -}}
{{- $named := list -}}
{{- range $env }}{{ $named = append $named .name }}{{ end -}}
{{- $operators := list -}}
{{- range $v.dapr.components }}{{ $operators = append $operators (first (splitList "." .type)) }}{{ end -}}
{{- $settings := dict "pubsub" "APIBASE_DAPR__PUBSUB" "state" "APIBASE_DAPR__STATE_STORE" "secretstores" "APIBASE_DAPR__SECRET_STORE" -}}
{{- $appId := include "apibase.daprAppId" . -}}
{{- range $v.extraDaprComponents -}}
{{- $block := first (splitList "." .type) -}}
{{- $variable := get $settings $block -}}
{{- $loaded := or (not .scopes) (has $appId .scopes) -}}
{{- if and $variable $loaded (not (has $block $operators)) (not (has $variable $named)) -}}
{{- $env = append $env (dict "name" $variable "value" .name) -}}
{{- $named = append $named $variable -}}
{{- if and (eq $block "pubsub") (not (has "APIBASE_EVENTS__PUBLISHER" $named)) -}}
{{- $env = append $env (dict "name" "APIBASE_EVENTS__PUBLISHER" "value" "dapr") -}}
{{- $named = append $named "APIBASE_EVENTS__PUBLISHER" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The ApiBase spec, from the values. Disabled sections are left out (the operator's "off"). The rules a CRD
schema cannot check (docs/operator.md, "Rules the CRD cannot check") fail here, at install time, rather than
as a Degraded ApiBase later.
*/}}
{{- define "apibase.spec" -}}
{{- $v := .Values -}}
{{- $spec := dict "image" (include "apibase.image" .) "replicas" $v.replicaCount "port" $v.port "paused" $v.paused -}}
{{- $_ := set $spec "resources" $v.resources -}}
{{- $_ := set $spec "probes" $v.probes -}}
{{- with $v.serviceAccountName }}{{ $_ := set $spec "serviceAccountName" . }}{{ end -}}
{{- with (include "apibase.env" . | fromYamlArray) }}{{ $_ := set $spec "env" . }}{{ end -}}
{{- with $v.envFromSecrets }}{{ $_ := set $spec "envFromSecrets" . }}{{ end -}}

{{- if $v.autoscaling.enabled -}}
{{- $a := $v.autoscaling -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- fail (printf "autoscaling.minReplicas (%v) must not exceed autoscaling.maxReplicas (%v)" $a.minReplicas $a.maxReplicas) -}}
{{- end -}}
{{- $_ := set $spec "autoscaling" (dict "enabled" true "minReplicas" $a.minReplicas "maxReplicas" $a.maxReplicas "targetCpuUtilizationPercentage" $a.targetCpuUtilizationPercentage) -}}
{{- end -}}

{{- if $v.dapr.enabled -}}
{{- $d := $v.dapr -}}
{{- $dapr := dict "enabled" true "appProtocol" $d.appProtocol "logLevel" $d.logLevel -}}
{{- with $d.appId }}{{ $_ := set $dapr "appId" . }}{{ end -}}
{{- if not (kindIs "invalid" $d.appPort) }}{{ $_ := set $dapr "appPort" $d.appPort }}{{ end -}}
{{- with $d.config }}{{ $_ := set $dapr "config" . }}{{ end -}}
{{- with $d.appTokenSecret }}{{ $_ := set $dapr "appTokenSecret" . }}{{ end -}}
{{- with $d.apiTokenSecret }}{{ $_ := set $dapr "apiTokenSecret" . }}{{ end -}}
{{- with $d.components }}{{ $_ := set $dapr "components" . }}{{ end -}}
{{- $_ := set $spec "dapr" $dapr -}}
{{- end -}}

{{- if $v.istio.enabled -}}
{{- $i := $v.istio -}}
{{- $istio := dict "enabled" true "mtlsMode" $i.mtlsMode -}}
{{- with $i.hosts }}{{ $_ := set $istio "hosts" . }}{{ end -}}
{{- with $i.gateway }}{{ $_ := set $istio "gateway" . }}{{ end -}}
{{- with $i.allowedPrincipals }}{{ $_ := set $istio "allowedPrincipals" . }}{{ end -}}
{{- $_ := set $spec "istio" $istio -}}
{{- end -}}

{{- if $v.canary.enabled -}}
{{- $c := $v.canary -}}
{{- $previous := 0 -}}
{{- range $c.steps -}}
{{- if le (int .) $previous -}}
{{- fail (printf "canary.steps must increase: %v" $c.steps) -}}
{{- end -}}
{{- $previous = int . -}}
{{- end -}}
{{- $canary := dict "image" (include "apibase.canaryImage" .) "steps" $c.steps "stepIntervalSeconds" $c.stepIntervalSeconds "autoPromote" $c.autoPromote -}}
{{- if $c.analysis.enabled -}}
{{- $a := $c.analysis -}}
{{- $analysis := dict "prometheusUrl" (required "canary.analysis.prometheusUrl is required when the analysis is enabled" $a.prometheusUrl) "query" (required "canary.analysis.query is required when the analysis is enabled" $a.query) -}}
{{- if not (kindIs "invalid" $a.maxValue) }}{{ $_ := set $analysis "maxValue" $a.maxValue }}{{ end -}}
{{- if not (kindIs "invalid" $a.minValue) }}{{ $_ := set $analysis "minValue" $a.minValue }}{{ end -}}
{{- if not (or (hasKey $analysis "maxValue") (hasKey $analysis "minValue")) -}}
{{- fail "canary.analysis needs canary.analysis.maxValue, canary.analysis.minValue or both" -}}
{{- end -}}
{{- $_ := set $canary "analysis" $analysis -}}
{{- end -}}
{{- $_ := set $spec "canary" $canary -}}
{{- end -}}

{{- if $v.vault.enabled -}}
{{- $vt := $v.vault -}}
{{- $k8s := $vt.auth.kubernetes -}}
{{- $token := $vt.auth.tokenSecret -}}
{{- $auth := dict -}}
{{- if and $k8s.role $token.name -}}
{{- fail "vault.auth: set vault.auth.kubernetes.role or vault.auth.tokenSecret.name, not both" -}}
{{- else if $k8s.role -}}
{{- $_ := set $auth "kubernetes" (dict "role" $k8s.role "mountPath" $k8s.mountPath) -}}
{{- else if $token.name -}}
{{- $_ := set $auth "tokenSecret" (dict "name" $token.name "key" (required "vault.auth.tokenSecret.key is required with vault.auth.tokenSecret.name" $token.key)) -}}
{{- else -}}
{{- fail "vault.enabled needs vault.auth.kubernetes.role or vault.auth.tokenSecret.name" -}}
{{- end -}}
{{- if not $vt.paths -}}
{{- fail "vault.enabled needs at least one entry in vault.paths" -}}
{{- end -}}
{{- $vault := dict "address" (required "vault.address is required when vault.enabled" $vt.address) "auth" $auth "mount" $vt.mount "paths" $vt.paths "refreshIntervalSeconds" $vt.refreshIntervalSeconds "restartOnRotation" $vt.restartOnRotation -}}
{{- with $vt.targetSecret }}{{ $_ := set $vault "targetSecret" . }}{{ end -}}
{{- $_ := set $spec "vault" $vault -}}
{{- end -}}
{{- toYaml $spec -}}
{{- end -}}
