# ---------------------------------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------------------------------

variable "name" {
  description = "Name of the install; prefixes every resource (EKS cluster, RDS instance, ElastiCache group, IAM roles). 3-32 lower-case letters, digits and single hyphens, starting with a letter."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 3-32 characters: lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "vpc_id" {
  description = "ID of the existing VPC the cluster, database and cache run in."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets (in at least two availability zones) for the EKS control plane, the nodes, RDS and ElastiCache."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets (EKS, RDS and ElastiCache all require two availability zones)."
  }

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "Every entry of subnet_ids must be a subnet ID such as subnet-0123456789abcdef0."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period, in days, before the module's KMS key (EKS secrets, RDS, ElastiCache, S3) is deleted after a destroy."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30 && floor(var.kms_key_deletion_window_days) == var.kms_key_deletion_window_days
    error_message = "kms_key_deletion_window_days must be a whole number from 7 to 30."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# EKS
# ---------------------------------------------------------------------------------------------------------------------

variable "cluster_version" {
  description = "Kubernetes version of the EKS control plane and the managed node group (major.minor)."
  type        = string
  default     = "1.33"
  nullable    = false

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.cluster_version))
    error_message = "cluster_version must be a Kubernetes minor version such as 1.33."
  }
}

variable "cluster_endpoint_public_access" {
  description = "Expose the Kubernetes API endpoint on the internet (restricted to cluster_public_access_cidrs). The private endpoint is always on."
  type        = bool
  default     = false
  nullable    = false
}

variable "cluster_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public Kubernetes API endpoint when cluster_endpoint_public_access is true."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.cluster_public_access_cidrs : can(cidrhost(cidr, 0)) && can(regex("^[0-9.]+/[0-9]+$", cidr))])
    error_message = "Every entry of cluster_public_access_cidrs must be an IPv4 CIDR block such as 203.0.113.0/24."
  }

  validation {
    condition     = !var.cluster_endpoint_public_access || length(var.cluster_public_access_cidrs) > 0
    error_message = "cluster_public_access_cidrs must list the networks allowed to reach the public endpoint when cluster_endpoint_public_access is true (AWS would otherwise open it to 0.0.0.0/0)."
  }
}

variable "cluster_log_types" {
  description = "Control-plane log types sent to CloudWatch Logs."
  type        = list(string)
  default     = ["api", "audit", "authenticator"]
  nullable    = false

  validation {
    condition     = alltrue([for t in var.cluster_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "cluster_log_types may only contain api, audit, authenticator, controllerManager and scheduler."
  }
}

variable "cluster_log_retention_days" {
  description = "Days the control-plane logs are kept in CloudWatch Logs."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cluster_log_retention_days)
    error_message = "cluster_log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "cluster_admin_principal_arns" {
  description = "IAM users or roles given cluster-admin through EKS access entries (the identity that creates the cluster is always admin)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.cluster_admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "Every entry of cluster_admin_principal_arns must be an IAM role or user ARN."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group, in order of preference."
  type        = list(string)
  default     = ["m6i.large"]
  nullable    = false

  validation {
    condition     = length(var.node_instance_types) >= 1 && alltrue([for t in var.node_instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "node_instance_types needs at least one EC2 instance type such as m6i.large."
  }
}

variable "node_ami_type" {
  description = "AMI type of the managed nodes; must match the architecture of node_instance_types (x86_64 or ARM_64 for Graviton)."
  type        = string
  default     = "AL2023_x86_64_STANDARD"
  nullable    = false

  validation {
    condition     = contains(["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64"], var.node_ami_type)
    error_message = "node_ami_type must be one of AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, BOTTLEROCKET_x86_64, BOTTLEROCKET_ARM_64."
  }
}

variable "node_capacity_type" {
  description = "Capacity type of the node group: ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"
  nullable    = false

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_disk_size_gb" {
  description = "Root volume size of each node, in GiB."
  type        = number
  default     = 50
  nullable    = false

  validation {
    condition     = var.node_disk_size_gb >= 20 && var.node_disk_size_gb <= 16384
    error_message = "node_disk_size_gb must be from 20 to 16384."
  }
}

variable "node_min_size" {
  description = "Fewest nodes in the managed node group."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.node_min_size >= 0 && floor(var.node_min_size) == var.node_min_size
    error_message = "node_min_size must be a whole number, 0 or more."
  }
}

variable "node_desired_size" {
  description = "Nodes the group starts with (later changes come from the cluster autoscaler and are not reverted)."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.node_desired_size >= var.node_min_size && var.node_desired_size <= var.node_max_size
    error_message = "node_desired_size must be between node_min_size and node_max_size."
  }
}

variable "node_max_size" {
  description = "Most nodes in the managed node group."
  type        = number
  default     = 6
  nullable    = false

  validation {
    condition     = var.node_max_size >= 1 && var.node_max_size >= var.node_min_size && floor(var.node_max_size) == var.node_max_size
    error_message = "node_max_size must be a whole number, at least 1 and at least node_min_size."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# RDS PostgreSQL
# ---------------------------------------------------------------------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL version: a major (\"16\", minor upgrades applied automatically) or major.minor (\"16.4\"). 13 or later."
  type        = string
  default     = "16"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{2}(\\.[0-9]+)?$", var.db_engine_version)) && try(tonumber(split(".", var.db_engine_version)[0]) >= 13, false)
    error_message = "db_engine_version must be a PostgreSQL version 13 or later, such as 16 or 16.4."
  }
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.m7g.large"
  nullable    = false

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must be an RDS instance class such as db.m7g.large."
  }
}

variable "db_multi_az" {
  description = "Run a synchronous standby in a second availability zone (automatic failover)."
  type        = bool
  default     = true
  nullable    = false
}

variable "db_allocated_storage_gb" {
  description = "Initial storage of the database, in GiB (gp3)."
  type        = number
  default     = 50
  nullable    = false

  validation {
    condition     = var.db_allocated_storage_gb >= 20 && var.db_allocated_storage_gb <= 65536
    error_message = "db_allocated_storage_gb must be from 20 to 65536."
  }
}

variable "db_max_allocated_storage_gb" {
  description = "Upper limit of storage autoscaling, in GiB; 0 turns storage autoscaling off."
  type        = number
  default     = 200
  nullable    = false

  validation {
    condition     = var.db_max_allocated_storage_gb == 0 || (var.db_max_allocated_storage_gb >= var.db_allocated_storage_gb && var.db_max_allocated_storage_gb <= 65536)
    error_message = "db_max_allocated_storage_gb must be 0 (no autoscaling) or from db_allocated_storage_gb to 65536."
  }
}

variable "db_name" {
  description = "Name of the database created in the instance (the path of APIBASE_DATABASE_URL)."
  type        = string
  default     = "apibase"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a letter and contain 1-63 letters, digits or underscores."
  }
}

variable "db_username" {
  description = "Master user name. Its password is generated and kept in AWS Secrets Manager by RDS (never in Terraform state)."
  type        = string
  default     = "apibase"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.db_username)) && !contains(["rdsadmin", "rds_superuser", "postgres"], lower(var.db_username))
    error_message = "db_username must start with a letter, contain 1-63 letters, digits or underscores, and not be a reserved name (rdsadmin, rds_superuser, postgres)."
  }
}

variable "db_backup_retention_days" {
  description = "Days automated backups (point-in-time recovery) are kept."
  type        = number
  default     = 14
  nullable    = false

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be from 1 to 35 (0 would turn backups off)."
  }
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database instance (set to false before a deliberate destroy)."
  type        = bool
  default     = true
  nullable    = false
}

variable "db_skip_final_snapshot" {
  description = "Delete the database without a final snapshot. Leave false in production."
  type        = bool
  default     = false
  nullable    = false
}

variable "db_performance_insights_enabled" {
  description = "Turn on Performance Insights (encrypted with the module's KMS key)."
  type        = bool
  default     = true
  nullable    = false
}

# ---------------------------------------------------------------------------------------------------------------------
# ElastiCache Redis
# ---------------------------------------------------------------------------------------------------------------------

variable "redis_engine_version" {
  description = "Redis OSS engine version (7.0 or later: TLS with transit_encryption_mode)."
  type        = string
  default     = "7.1"
  nullable    = false

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.redis_engine_version))
    error_message = "redis_engine_version must be a Redis 7 version such as 7.1."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.m7g.large"
  nullable    = false

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.redis_node_type))
    error_message = "redis_node_type must be an ElastiCache node type such as cache.m7g.large."
  }
}

variable "redis_num_cache_clusters" {
  description = "Nodes in the replication group (one primary, the rest replicas). 2 or more turns on automatic failover and multi-AZ."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.redis_num_cache_clusters >= 1 && var.redis_num_cache_clusters <= 6 && floor(var.redis_num_cache_clusters) == var.redis_num_cache_clusters
    error_message = "redis_num_cache_clusters must be a whole number from 1 to 6."
  }
}

variable "redis_auth_token" {
  description = "Redis AUTH token (password) required of every client, over TLS. 16-128 printable ASCII characters without spaces, @, \" or /."
  type        = string
  sensitive   = true
  nullable    = false

  validation {
    condition     = length(var.redis_auth_token) >= 16 && length(var.redis_auth_token) <= 128 && can(regex("^[!#-.0-?A-~]+$", var.redis_auth_token))
    error_message = "redis_auth_token must be 16-128 printable ASCII characters without spaces, @, \" or /."
  }
}

variable "redis_snapshot_retention_days" {
  description = "Days automatic Redis snapshots are kept; 0 turns them off."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.redis_snapshot_retention_days >= 0 && var.redis_snapshot_retention_days <= 35
    error_message = "redis_snapshot_retention_days must be from 0 to 35."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# S3
# ---------------------------------------------------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the S3 bucket (files, exports). Default: a unique name starting with the value of name and a hyphen."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || (can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !strcontains(coalesce(var.bucket_name, "-"), ".."))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "bucket_force_destroy" {
  description = "Allow destroying the bucket while it still holds objects. Leave false in production."
  type        = bool
  default     = false
  nullable    = false
}

variable "bucket_noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept before it expires."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.bucket_noncurrent_version_expiration_days >= 1 && var.bucket_noncurrent_version_expiration_days <= 3650
    error_message = "bucket_noncurrent_version_expiration_days must be from 1 to 3650."
  }
}
