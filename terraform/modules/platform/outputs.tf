output "istio_namespace" {
  description = "Namespace of the Istio control plane."
  value       = kubernetes_namespace_v1.istio_system.metadata[0].name
}

output "istio_ingress_namespace" {
  description = "Namespace of the Istio ingress gateway."
  value       = kubernetes_namespace_v1.istio_ingress.metadata[0].name
}

output "istio_ingress_gateway_selector" {
  description = "Pod labels of the ingress gateway, for the selector of an Istio Gateway resource."
  value       = { istio = "ingressgateway" }
}

output "dapr_namespace" {
  description = "Namespace of the Dapr control plane."
  value       = kubernetes_namespace_v1.dapr_system.metadata[0].name
}

output "operator_namespace" {
  description = "Namespace of the ApiBase operator."
  value       = kubernetes_namespace_v1.operator.metadata[0].name
}

output "operator_service_account" {
  description = "ServiceAccount of the operator (it has no Vault role: the operator logs in as each application)."
  value       = var.operator_service_account
}

output "releases" {
  description = "Installed Helm releases and their chart versions."
  value = {
    istio_base    = { name = helm_release.istio_base.name, version = helm_release.istio_base.version }
    istiod        = { name = helm_release.istiod.name, version = helm_release.istiod.version }
    istio_gateway = { name = helm_release.istio_gateway.name, version = helm_release.istio_gateway.version }
    dapr          = { name = helm_release.dapr.name, version = helm_release.dapr.version }
    operator      = { name = helm_release.operator.name, version = helm_release.operator.version }
  }
}

output "vault_roles" {
  description = "Per application (key NAMESPACE/NAME): its Vault role and policy, the namespace, ServiceAccount and audience the role is bound to, the prefix its spec.vault.paths go under (relative to the mount) and the KV v2 path pattern the policy may read."
  value = {
    for key, app in local.vault_applications : key => {
      role            = vault_kubernetes_auth_backend_role.application[key].role_name
      policy          = vault_policy.application[key].name
      namespace       = app.namespace
      service_account = app.service_account
      audience        = var.vault_audience
      secret_prefix   = app.secret_prefix
      read_path       = app.read_path
    }
  }
}

output "apibase_vault_specs" {
  description = "Per application (key NAMESPACE/NAME): the spec.vault settings its ApiBase uses; add paths under its secret_prefix (vault_roles)."
  value = {
    for key, app in local.vault_applications : key => {
      address = var.vault_address
      mount   = var.vault_kv_mount
      auth = {
        kubernetes = {
          role      = vault_kubernetes_auth_backend_role.application[key].role_name
          mountPath = vault_auth_backend.kubernetes.path
        }
      }
    }
  }
}
