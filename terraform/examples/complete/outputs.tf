output "cluster_name" {
  description = "Name of the EKS cluster (aws eks update-kubeconfig --name ...)."
  value       = module.aws.cluster_name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = module.aws.cluster_endpoint
}

output "database_url_template" {
  description = "APIBASE_DATABASE_URL for the service, with PASSWORD to replace (store the result in Vault under the application's secret_prefix, see vault_roles)."
  value       = module.aws.database_url_template
}

output "database_master_user_secret_arn" {
  description = "Secrets Manager secret holding the database password."
  value       = module.aws.database_master_user_secret_arn
}

output "redis_endpoint" {
  description = "Primary endpoint of Redis (TLS, AUTH token)."
  value       = module.aws.redis_endpoint
}

output "bucket" {
  description = "Name of the S3 bucket."
  value       = module.aws.bucket
}

output "apibase_vault_specs" {
  description = "Per application (NAMESPACE/NAME): spec.vault settings for its ApiBase (add paths under its secret_prefix)."
  value       = module.platform.apibase_vault_specs
}

output "vault_roles" {
  description = "Per application (NAMESPACE/NAME): its Vault role, the namespace and ServiceAccount it is bound to, and the paths it may read."
  value       = module.platform.vault_roles
}
