variable "region" {
  description = "AWS region to install into."
  type        = string
  default     = "eu-west-1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region such as eu-west-1."
  }
}

variable "name" {
  description = "Name of the install (prefix of every AWS resource; also the EKS cluster name)."
  type        = string
  default     = "apibase"
  nullable    = false
}

variable "vpc_id" {
  description = "ID of the existing VPC."
  type        = string
  nullable    = false
}

variable "private_subnet_ids" {
  description = "Private subnets of the VPC, in at least two availability zones."
  type        = list(string)
  nullable    = false
}

variable "admin_cidrs" {
  description = "Networks allowed to reach the Kubernetes API (where Terraform and kubectl run)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.admin_cidrs) > 0
    error_message = "admin_cidrs needs at least one CIDR block: Terraform installs the platform through the Kubernetes API."
  }
}

variable "cluster_admin_principal_arns" {
  description = "IAM roles or users given cluster-admin, besides the identity running Terraform."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "redis_auth_token" {
  description = "Redis AUTH token (16-128 characters); pass it through TF_VAR_redis_auth_token, never a committed file."
  type        = string
  sensitive   = true
  nullable    = false
}

variable "vault_address" {
  description = "Vault address (scheme://host[:port]); the vault provider logs in with VAULT_TOKEN from the environment."
  type        = string
  nullable    = false
}

variable "vault_secret_prefix" {
  description = "KV v2 path prefix under the secret/ mount that every application's secrets lie under (the operator refuses any other path)."
  type        = string
  default     = "apibase"
  nullable    = false
}

variable "applications" {
  description = "ApiBase applications that read Vault, keyed NAMESPACE/NAME: each gets its own Vault role bound to its namespace and ServiceAccount (see modules/platform)."
  type        = map(object({ service_account = optional(string), secret_prefix = optional(string) }))
  default     = {}
  nullable    = false
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
