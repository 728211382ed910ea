output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = aws_eks_cluster.this.arn
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64-encoded PEM certificate of the cluster's certificate authority."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Security group EKS attaches to the control plane and the managed nodes; the database and Redis accept connections from it."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer of the cluster's service-account tokens."
  value       = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider, for IAM roles for service accounts (IRSA)."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "node_role_arn" {
  description = "IAM role of the managed nodes."
  value       = aws_iam_role.node.arn
}

output "database_endpoint" {
  description = "address:port of the PostgreSQL instance."
  value       = aws_db_instance.this.endpoint
}

output "database_address" {
  description = "Host name of the PostgreSQL instance."
  value       = aws_db_instance.this.address
}

output "database_port" {
  description = "Port of the PostgreSQL instance."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the database."
  value       = aws_db_instance.this.db_name
}

output "database_username" {
  description = "Master user name."
  value       = aws_db_instance.this.username
}

output "database_master_user_secret_arn" {
  description = "Secrets Manager secret (JSON with username and password) holding the master password, managed and rotated by RDS."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "database_url_template" {
  description = "APIBASE_DATABASE_URL for the service, with PASSWORD to be replaced by the password from the master user secret (e.g. through Vault)."
  value       = "postgresql+asyncpg://${aws_db_instance.this.username}:PASSWORD@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${aws_db_instance.this.db_name}?ssl=require"
}

output "redis_endpoint" {
  description = "Primary (read-write) endpoint of the Redis replication group; connect with TLS (rediss://) and the AUTH token."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "redis_reader_endpoint" {
  description = "Reader endpoint of the Redis replication group (spreads reads over the replicas)."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "redis_port" {
  description = "Port of Redis."
  value       = aws_elasticache_replication_group.this.port
}

output "bucket" {
  description = "Name of the S3 bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the S3 bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting EKS secrets, RDS, ElastiCache and S3."
  value       = aws_kms_key.this.arn
}
