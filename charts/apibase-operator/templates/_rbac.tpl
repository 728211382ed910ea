{{/*
RBAC rules, least privilege: exactly the verbs the operator's code uses.

- Owned kinds (apibase_operator.kube.kinds.MANAGED_KINDS): the watch caches (apibase_operator.kube.cache) list
  and watch each of them, label-selected; the reconciler reads one object the caches cannot answer (get), applies
  with server-side apply (patch; create when the server has no SSA) and prunes (delete). Never update.
- ApiBases: kopf lists and watches them and patches annotations and its finalizer; the reconciler reads one
  (get) and patches the status subresource; owner references with blockOwnerDeletion need update on
  apibases/finalizers (OwnerReferencesPermissionEnforcement).
- Events: kopf and the reconciler create core/v1 Events.
- Secrets: besides owning Secrets, the operator reads Vault token Secrets (auth.tokenSecret, the ApiBase's
  namespace) and its hash key Secret in its own namespace (get; create on first start).
- serviceaccounts/token: a short-lived token of the ApiBase's own ServiceAccount, to log in to Vault as the
  workload (auth.kubernetes), never as the operator.
*/}}
{{- define "apibase-operator.rules.namespaced" -}}
- apiGroups: ["apibase.dev"]
  resources: ["apibases"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["apibase.dev"]
  resources: ["apibases/status"]
  verbs: ["patch"]
# Owned objects carry an owner reference with blockOwnerDeletion: where the OwnerReferencesPermissionEnforcement
# admission plugin is on, setting it needs update on the owner's finalizers.
- apiGroups: ["apibase.dev"]
  resources: ["apibases/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["dapr.io"]
  resources: ["components"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["networking.istio.io"]
  resources: ["destinationrules", "virtualservices"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["security.istio.io"]
  resources: ["peerauthentications", "authorizationpolicies"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{/* kopf observes namespaces and CRDs (cluster-scoped: only a ClusterRole can grant this). */}}
{{- define "apibase-operator.rules.cluster" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end -}}
