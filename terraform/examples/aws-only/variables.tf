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
  description = "Name of the install (prefix of every resource)."
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

variable "redis_auth_token" {
  description = "Redis AUTH token (16-128 characters); pass it through TF_VAR_redis_auth_token, never a committed file."
  type        = string
  sensitive   = true
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
