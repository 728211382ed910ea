terraform {
  # 1.9 or later: variable validations refer to other variables (token TTLs).
  required_version = ">= 1.9.0, < 2.0.0"

  # The root module configures these providers (cluster credentials, Vault address and token); see
  # terraform/examples/complete.
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.30"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    vault = {
      source  = "hashicorp/vault"
      version = "~> 4.4"
    }
  }
}
