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
  description = "ServiceAccount of the operator, bound to the Vault role."
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

output "vault_policy_name" {
  description = "Vault policy of the operator."
  value       = vault_policy.operator.name
}

output "vault_read_path" {
  description = "The Vault path pattern the operator may read (KV v2 data path)."
  value       = local.vault_read_path
}

output "apibase_vault_spec" {
  description = "The spec.vault settings an ApiBase uses to read through this setup (paths go under vault_secret_prefix)."
  value = {
    address = var.vault_address
    mount   = var.vault_kv_mount
    auth = {
      kubernetes = {
        role      = vault_kubernetes_auth_backend_role.operator.role_name
        mountPath = vault_auth_backend.kubernetes.path
      }
    }
  }
}
