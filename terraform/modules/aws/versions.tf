terraform {
  # 1.9 or later: variable validations refer to other variables (node group sizes, storage autoscaling).
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
