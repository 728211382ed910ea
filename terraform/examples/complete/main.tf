# A complete API Base install on AWS: the cluster and managed services (modules/aws), then Istio, Dapr, the
# ApiBase operator and Vault's Kubernetes auth inside it (modules/platform), in one apply.
#
# Run from this directory (the operator chart is a local path relative to it):
#   export VAULT_TOKEN=...  TF_VAR_redis_auth_token=...
#   terraform init && terraform apply -var-file=prod.tfvars

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "aws" {
  source = "../../modules/aws"

  name                           = var.name
  vpc_id                         = var.vpc_id
  subnet_ids                     = var.private_subnet_ids
  cluster_endpoint_public_access = true
  cluster_public_access_cidrs    = var.admin_cidrs
  cluster_admin_principal_arns   = var.cluster_admin_principal_arns
  redis_auth_token               = var.redis_auth_token
  tags                           = var.tags
}

locals {
  cluster_ca_certificate = base64decode(module.aws.cluster_certificate_authority_data)

  # Short-lived tokens from the AWS CLI, so no long-lived cluster credential is stored anywhere.
  eks_token_exec = {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.aws.cluster_name, "--region", var.region]
  }
}

provider "kubernetes" {
  host                   = module.aws.cluster_endpoint
  cluster_ca_certificate = local.cluster_ca_certificate

  exec {
    api_version = local.eks_token_exec.api_version
    command     = local.eks_token_exec.command
    args        = local.eks_token_exec.args
  }
}

provider "helm" {
  kubernetes = {
    host                   = module.aws.cluster_endpoint
    cluster_ca_certificate = local.cluster_ca_certificate
    exec                   = local.eks_token_exec
  }
}

provider "vault" {
  address = var.vault_address
}

module "platform" {
  source = "../../modules/platform"

  # Vault runs outside the cluster: it checks the applications' ServiceAccount tokens, which the operator
  # requests and logs in with, against the EKS API server. One Vault role per application.
  vault_address       = var.vault_address
  vault_secret_prefix = var.vault_secret_prefix
  applications        = var.applications
  kubernetes_host     = module.aws.cluster_endpoint
  kubernetes_ca_cert  = local.cluster_ca_certificate

  # The gateway gets an internet-facing Network Load Balancer.
  istio_ingress_service_annotations = {
    "service.beta.kubernetes.io/aws-load-balancer-type"   = "nlb"
    "service.beta.kubernetes.io/aws-load-balancer-scheme" = "internet-facing"
  }

  # The cluster and its nodes must exist before anything is installed in it.
  depends_on = [module.aws]
}
