# The AWS resources of an API Base install, without anything inside the cluster (install Istio, Dapr and the
# operator yourself, or use examples/complete).

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "aws" {
  source = "../../modules/aws"

  name             = var.name
  vpc_id           = var.vpc_id
  subnet_ids       = var.private_subnet_ids
  redis_auth_token = var.redis_auth_token

  # A smaller, cheaper setup for a first try; the module's defaults are sized for production.
  node_instance_types      = ["t3.large"]
  node_min_size            = 1
  node_desired_size        = 2
  node_max_size            = 3
  db_instance_class        = "db.t4g.medium"
  db_multi_az              = false
  redis_node_type          = "cache.t4g.small"
  redis_num_cache_clusters = 1
}
