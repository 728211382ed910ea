# What an API Base install needs inside an existing Kubernetes cluster: Istio (base, istiod, ingress gateway), Dapr,
# the ApiBase operator, and Vault's Kubernetes auth with one role per application, bound to its namespace and
# ServiceAccount (the operator logs in as the application, never as itself).
# The kubernetes, helm and vault providers are configured by the caller.

locals {
  managed_labels = merge({ "app.kubernetes.io/managed-by" = "terraform", "app.kubernetes.io/part-of" = "apibase" }, var.labels)

  helm_timeout = var.helm_timeout_seconds

  # The operator's own policy (APIBASE_OPERATOR_VAULT_ADDRESSES and APIBASE_OPERATOR_VAULT_MOUNTS, see
  # operator/apibase_operator/wiring.py): it sends credentials to this Vault only, and refuses, before asking
  # Vault, any ApiBase path outside the prefix every application's Vault policy lies under.
  operator_allowed_vault_prefix = "${var.vault_kv_mount}/${var.vault_secret_prefix}"

  # One Vault role and policy per application (key NAMESPACE/NAME of its ApiBase): the role accepts only the
  # token of that namespace's ServiceAccount, and the policy reads only that application's KV v2 paths.
  vault_applications = {
    for key, app in var.applications : key => {
      role            = replace(key, "/", "-")
      namespace       = split("/", key)[0]
      service_account = coalesce(app.service_account, split("/", key)[1])
      secret_prefix   = "${var.vault_secret_prefix}/${coalesce(app.secret_prefix, key)}"
      read_path       = "${var.vault_kv_mount}/data/${var.vault_secret_prefix}/${coalesce(app.secret_prefix, key)}/*"
    }
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Namespaces
# ---------------------------------------------------------------------------------------------------------------------

resource "kubernetes_namespace_v1" "istio_system" {
  metadata {
    name   = var.istio_namespace
    labels = local.managed_labels
  }
}

resource "kubernetes_namespace_v1" "istio_ingress" {
  metadata {
    name   = var.istio_ingress_namespace
    labels = merge(local.managed_labels, { "istio-injection" = "enabled" })
  }
}

resource "kubernetes_namespace_v1" "dapr_system" {
  metadata {
    name   = var.dapr_namespace
    labels = local.managed_labels
  }
}

resource "kubernetes_namespace_v1" "operator" {
  metadata {
    name   = var.operator_namespace
    labels = local.managed_labels
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Istio, from the official chart repository: CRDs and cluster roles (base), the control plane (istiod), then the
# ingress gateway, which needs istiod's injection webhook.
# ---------------------------------------------------------------------------------------------------------------------

resource "helm_release" "istio_base" {
  name            = "istio-base"
  repository      = var.istio_repository
  chart           = "base"
  version         = var.istio_version
  namespace       = kubernetes_namespace_v1.istio_system.metadata[0].name
  timeout         = local.helm_timeout
  atomic          = true
  cleanup_on_fail = true
  max_history     = 10

  values = concat([yamlencode({
    defaultRevision = "default"
    global          = { istioNamespace = var.istio_namespace }
  })], lookup(var.extra_values, "istio_base", []))
}

resource "helm_release" "istiod" {
  name            = "istiod"
  repository      = var.istio_repository
  chart           = "istiod"
  version         = var.istio_version
  namespace       = kubernetes_namespace_v1.istio_system.metadata[0].name
  timeout         = local.helm_timeout
  atomic          = true
  cleanup_on_fail = true
  max_history     = 10
  wait            = true

  values = concat([yamlencode({
    global     = { istioNamespace = var.istio_namespace }
    meshConfig = { accessLogFile = "/dev/stdout" }
    pilot      = { autoscaleMin = 2 }
  })], lookup(var.extra_values, "istiod", []))

  depends_on = [helm_release.istio_base]
}

resource "helm_release" "istio_gateway" {
  name            = "istio-ingressgateway"
  repository      = var.istio_repository
  chart           = "gateway"
  version         = var.istio_version
  namespace       = kubernetes_namespace_v1.istio_ingress.metadata[0].name
  timeout         = local.helm_timeout
  atomic          = true
  cleanup_on_fail = true
  max_history     = 10
  wait            = true

  values = concat([yamlencode({
    service = {
      type        = var.istio_ingress_service_type
      annotations = var.istio_ingress_service_annotations
    }
    autoscaling = { minReplicas = 2 }
  })], lookup(var.extra_values, "istio_gateway", []))

  depends_on = [helm_release.istiod]
}

# ---------------------------------------------------------------------------------------------------------------------
# Dapr
# ---------------------------------------------------------------------------------------------------------------------

resource "helm_release" "dapr" {
  name            = "dapr"
  repository      = var.dapr_repository
  chart           = "dapr"
  version         = var.dapr_version
  namespace       = kubernetes_namespace_v1.dapr_system.metadata[0].name
  timeout         = local.helm_timeout
  atomic          = true
  cleanup_on_fail = true
  max_history     = 10
  wait            = true

  values = concat([yamlencode({
    global = {
      ha   = { enabled = var.dapr_ha_enabled }
      mtls = { enabled = true }
    }
  })], lookup(var.extra_values, "dapr", []))
}

# ---------------------------------------------------------------------------------------------------------------------
# The ApiBase operator. It comes after Istio and Dapr: the ApiBases it reconciles create their custom resources
# (DestinationRule, VirtualService, Component, ...), whose CRDs those charts install.
# ---------------------------------------------------------------------------------------------------------------------

resource "helm_release" "operator" {
  name            = var.operator_release_name
  repository      = var.operator_chart_repository
  chart           = var.operator_chart
  version         = var.operator_chart_version
  namespace       = kubernetes_namespace_v1.operator.metadata[0].name
  timeout         = local.helm_timeout
  atomic          = true
  cleanup_on_fail = true
  max_history     = 10
  wait            = true

  # Values of charts/apibase-operator (values.yaml, values.schema.json). The chart turns operator.resyncSeconds,
  # vault.allowedMounts and vault.allowedAddresses into APIBASE_OPERATOR_RESYNC_SECONDS, _VAULT_MOUNTS and
  # _VAULT_ADDRESSES and vault.audience into _VAULT_AUDIENCE (the audience of the tokens it requests for an
  # application's ServiceAccount, which the Vault roles below expect), and sets APIBASE_OPERATOR_NAMESPACE to the
  # release namespace. The operator's own ServiceAccount has no Vault role.
  values = concat([yamlencode({
    serviceAccount = {
      create = true
      name   = var.operator_service_account
    }
    operator = {
      resyncSeconds = var.operator_resync_seconds
    }
    vault = {
      allowedAddresses = [var.vault_address]
      allowedMounts    = [local.operator_allowed_vault_prefix]
      audience         = var.vault_audience
    }
  })], lookup(var.extra_values, "operator", []))

  depends_on = [helm_release.istiod, helm_release.dapr]
}

# ---------------------------------------------------------------------------------------------------------------------
# Vault Kubernetes auth: the operator logs in for each ApiBase with a token of the ApiBase's own ServiceAccount;
# Vault checks it with the cluster's TokenReview API and gives it read access to that application's paths only.
# ---------------------------------------------------------------------------------------------------------------------

# Vault outside the cluster needs a token of its own to call the TokenReview API.
resource "kubernetes_service_account_v1" "vault_token_reviewer" {
  count = var.vault_runs_in_cluster ? 0 : 1

  metadata {
    name      = "vault-token-reviewer"
    namespace = kubernetes_namespace_v1.operator.metadata[0].name
    labels    = local.managed_labels
  }
}

resource "kubernetes_cluster_role_binding_v1" "vault_token_reviewer" {
  count = var.vault_runs_in_cluster ? 0 : 1

  metadata {
    name   = "${var.operator_namespace}-vault-token-reviewer"
    labels = local.managed_labels
  }

  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "ClusterRole"
    name      = "system:auth-delegator"
  }

  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.vault_token_reviewer[0].metadata[0].name
    namespace = kubernetes_service_account_v1.vault_token_reviewer[0].metadata[0].namespace
  }
}

resource "kubernetes_secret_v1" "vault_token_reviewer" {
  count = var.vault_runs_in_cluster ? 0 : 1

  metadata {
    name      = "vault-token-reviewer"
    namespace = kubernetes_namespace_v1.operator.metadata[0].name
    labels    = local.managed_labels
    annotations = {
      "kubernetes.io/service-account.name" = kubernetes_service_account_v1.vault_token_reviewer[0].metadata[0].name
    }
  }

  type                           = "kubernetes.io/service-account-token"
  wait_for_service_account_token = true
}

resource "vault_auth_backend" "kubernetes" {
  type        = "kubernetes"
  path        = var.vault_auth_path
  description = "Kubernetes auth for ApiBase workloads"
}

resource "vault_kubernetes_auth_backend_config" "this" {
  backend            = vault_auth_backend.kubernetes.path
  kubernetes_host    = var.kubernetes_host
  kubernetes_ca_cert = var.kubernetes_ca_cert
  token_reviewer_jwt = var.vault_runs_in_cluster ? null : kubernetes_secret_v1.vault_token_reviewer[0].data["token"]
  # Outside the cluster there is no local service-account token to fall back on.
  disable_local_ca_jwt = !var.vault_runs_in_cluster

  depends_on = [kubernetes_cluster_role_binding_v1.vault_token_reviewer]
}

# Read, and nothing else, under the application's own prefix of one KV v2 mount.
resource "vault_policy" "application" {
  for_each = local.vault_applications

  name   = each.value.role
  policy = <<-EOT
    # Managed by Terraform (terraform/modules/platform): ApiBase ${each.key} reads its own KV v2 secrets.
    path "${each.value.read_path}" {
      capabilities = ["read"]
    }
  EOT
}

# The operator logs in under this role with a short-lived token of the application's own ServiceAccount
# (TokenRequest, audience var.vault_audience): only that namespace's ServiceAccount gets the policy above.
resource "vault_kubernetes_auth_backend_role" "application" {
  for_each = local.vault_applications

  backend                          = vault_auth_backend.kubernetes.path
  role_name                        = each.value.role
  bound_service_account_names      = [each.value.service_account]
  bound_service_account_namespaces = [each.value.namespace]
  audience                         = var.vault_audience
  token_policies                   = [vault_policy.application[each.key].name]
  token_ttl                        = var.vault_token_ttl_seconds
  token_max_ttl                    = var.vault_token_max_ttl_seconds

  depends_on = [vault_kubernetes_auth_backend_config.this]
}
