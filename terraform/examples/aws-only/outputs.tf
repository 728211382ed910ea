output "cluster_name" {
  description = "Name of the EKS cluster (aws eks update-kubeconfig --name ...)."
  value       = module.aws.cluster_name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = module.aws.cluster_endpoint
}

output "database_endpoint" {
  description = "address:port of PostgreSQL."
  value       = module.aws.database_endpoint
}

output "database_url_template" {
  description = "APIBASE_DATABASE_URL with PASSWORD to replace."
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
