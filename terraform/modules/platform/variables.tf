# ---------------------------------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------------------------------

variable "labels" {
  description = "Labels added to every namespace the module creates."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$", k)) && can(regex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$", v))])
    error_message = "labels must be valid Kubernetes label keys and values."
  }
}

variable "helm_timeout_seconds" {
  description = "Seconds each Helm release may take to install or upgrade before it is rolled back."
  type        = number
  default     = 600
  nullable    = false

  validation {
    condition     = var.helm_timeout_seconds >= 60 && var.helm_timeout_seconds <= 3600
    error_message = "helm_timeout_seconds must be from 60 to 3600."
  }
}

variable "extra_values" {
  description = "Additional Helm values (YAML documents, applied after the module's own) per release: keys istio_base, istiod, istio_gateway, dapr, operator."
  type        = map(list(string))
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.extra_values) : contains(["istio_base", "istiod", "istio_gateway", "dapr", "operator"], k)])
    error_message = "extra_values keys must be among istio_base, istiod, istio_gateway, dapr and operator."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Istio
# ---------------------------------------------------------------------------------------------------------------------

variable "istio_version" {
  description = "Version of the Istio charts (base, istiod, gateway); all three are installed at the same version."
  type        = string
  default     = "1.26.2"
  nullable    = false

  validation {
    condition     = can(regex("^1\\.[0-9]+\\.[0-9]+$", var.istio_version))
    error_message = "istio_version must be an exact Istio release such as 1.26.2 (no ranges, no v prefix)."
  }
}

variable "istio_repository" {
  description = "Helm repository of the Istio charts."
  type        = string
  default     = "https://istio-release.storage.googleapis.com/charts"
  nullable    = false

  validation {
    condition     = can(regex("^(https|oci)://", var.istio_repository))
    error_message = "istio_repository must be an https:// or oci:// URL."
  }
}

variable "istio_namespace" {
  description = "Namespace of the Istio control plane (istiod)."
  type        = string
  default     = "istio-system"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.istio_namespace))
    error_message = "istio_namespace must be a DNS label (lower-case letters, digits and hyphens, at most 63 characters)."
  }
}

variable "istio_ingress_namespace" {
  description = "Namespace of the Istio ingress gateway."
  type        = string
  default     = "istio-ingress"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.istio_ingress_namespace))
    error_message = "istio_ingress_namespace must be a DNS label (lower-case letters, digits and hyphens, at most 63 characters)."
  }
}

variable "istio_ingress_service_type" {
  description = "Kubernetes Service type of the ingress gateway."
  type        = string
  default     = "LoadBalancer"
  nullable    = false

  validation {
    condition     = contains(["LoadBalancer", "NodePort", "ClusterIP"], var.istio_ingress_service_type)
    error_message = "istio_ingress_service_type must be LoadBalancer, NodePort or ClusterIP."
  }
}

variable "istio_ingress_service_annotations" {
  description = "Annotations of the ingress gateway Service, e.g. for the AWS Load Balancer Controller."
  type        = map(string)
  default     = {}
  nullable    = false
}

# ---------------------------------------------------------------------------------------------------------------------
# Dapr
# ---------------------------------------------------------------------------------------------------------------------

variable "dapr_version" {
  description = "Version of the Dapr Helm chart (the Dapr runtime version)."
  type        = string
  default     = "1.15.5"
  nullable    = false

  validation {
    condition     = can(regex("^1\\.[0-9]+\\.[0-9]+$", var.dapr_version))
    error_message = "dapr_version must be an exact Dapr release such as 1.15.5 (no ranges, no v prefix)."
  }
}

variable "dapr_repository" {
  description = "Helm repository of the Dapr chart."
  type        = string
  default     = "https://dapr.github.io/helm-charts/"
  nullable    = false

  validation {
    condition     = can(regex("^(https|oci)://", var.dapr_repository))
    error_message = "dapr_repository must be an https:// or oci:// URL."
  }
}

variable "dapr_namespace" {
  description = "Namespace of the Dapr control plane."
  type        = string
  default     = "dapr-system"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.dapr_namespace))
    error_message = "dapr_namespace must be a DNS label (lower-case letters, digits and hyphens, at most 63 characters)."
  }
}

variable "dapr_ha_enabled" {
  description = "Run the Dapr control plane highly available (three replicas of each service)."
  type        = bool
  default     = true
  nullable    = false
}

# ---------------------------------------------------------------------------------------------------------------------
# ApiBase operator
# ---------------------------------------------------------------------------------------------------------------------

variable "operator_chart" {
  description = "The operator's Helm chart: a local path (relative paths are resolved by Helm from the directory terraform runs in; the default fits terraform/examples/*), or a chart name when operator_chart_repository is set."
  type        = string
  default     = "../../../charts/apibase-operator"
  nullable    = false

  validation {
    condition     = length(trimspace(var.operator_chart)) > 0
    error_message = "operator_chart must not be empty."
  }
}

variable "operator_chart_repository" {
  description = "Helm repository (https:// or oci://) of the operator chart; null for a local chart path."
  type        = string
  default     = null

  validation {
    condition     = var.operator_chart_repository == null || can(regex("^(https|oci)://", coalesce(var.operator_chart_repository, "-")))
    error_message = "operator_chart_repository must be an https:// or oci:// URL, or null."
  }
}

variable "operator_chart_version" {
  description = "Version of the operator chart in operator_chart_repository; null for a local chart path."
  type        = string
  default     = null

  validation {
    condition     = var.operator_chart_version == null || can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.-]+)?$", coalesce(var.operator_chart_version, "-")))
    error_message = "operator_chart_version must be an exact semantic version such as 0.1.0, or null."
  }
}

variable "operator_namespace" {
  description = "Namespace of the operator (the chart sets APIBASE_OPERATOR_NAMESPACE to it)."
  type        = string
  default     = "apibase-system"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.operator_namespace))
    error_message = "operator_namespace must be a DNS label (lower-case letters, digits and hyphens, at most 63 characters)."
  }
}

variable "operator_release_name" {
  description = "Name of the operator's Helm release."
  type        = string
  default     = "apibase-operator"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$", var.operator_release_name))
    error_message = "operator_release_name must be a DNS label of at most 53 characters (Helm's limit)."
  }
}

variable "operator_service_account" {
  description = "Name of the operator's ServiceAccount. No Vault role is bound to it: the operator logs in to Vault as each application."
  type        = string
  default     = "apibase-operator"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.operator_service_account))
    error_message = "operator_service_account must be a DNS label (lower-case letters, digits and hyphens, at most 63 characters), as the operator chart requires."
  }
}

variable "operator_resync_seconds" {
  description = "How often the operator reconciles every ApiBase even without a change (APIBASE_OPERATOR_RESYNC_SECONDS)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.operator_resync_seconds >= 5 && var.operator_resync_seconds <= 86400
    error_message = "operator_resync_seconds must be from 5 to 86400."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Vault Kubernetes auth
# ---------------------------------------------------------------------------------------------------------------------

variable "vault_address" {
  description = "Address of Vault exactly as ApiBase resources write it in spec.vault.address (scheme://host[:port], no trailing slash). The operator only talks to this address (APIBASE_OPERATOR_VAULT_ADDRESSES)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.vault_address))
    error_message = "vault_address must be scheme://host[:port] with http or https and no path or trailing slash, e.g. https://vault.example.com:8200."
  }
}

variable "vault_kv_mount" {
  description = "KV version 2 mount the applications read (spec.vault.mount of ApiBase resources). It must already exist."
  type        = string
  default     = "secret"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.vault_kv_mount))
    error_message = "vault_kv_mount must be 1-128 letters, digits, underscores or hyphens (as spec.vault.mount accepts)."
  }
}

variable "vault_secret_prefix" {
  description = "Path under the KV mount that every application's secrets lie under: an application's policy allows read of MOUNT/data/PREFIX/NAMESPACE/NAME/* (MOUNT = vault_kv_mount, PREFIX = this, unless applications sets its secret_prefix), and the operator is given MOUNT/PREFIX as its only allowed mount prefix (APIBASE_OPERATOR_VAULT_MOUNTS)."
  type        = string
  default     = "apibase"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.vault_secret_prefix)) && !contains(split("/", var.vault_secret_prefix), "..") && !contains(split("/", var.vault_secret_prefix), ".")
    error_message = "vault_secret_prefix must be path segments of letters, digits, _, . and - separated by single slashes, without leading or trailing slash, . or .. segments, or wildcards."
  }
}

variable "vault_auth_path" {
  description = "Where the Kubernetes auth method is mounted in Vault (spec.vault.auth.kubernetes.mountPath of ApiBase resources)."
  type        = string
  default     = "kubernetes"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", var.vault_auth_path))
    error_message = "vault_auth_path must be letters, digits, _ and - segments separated by single slashes, without leading or trailing slash."
  }
}

variable "vault_audience" {
  description = "Audience of the ServiceAccount tokens the operator requests for an application (the chart's vault.audience, APIBASE_OPERATOR_VAULT_AUDIENCE); every application's Vault role expects it, so a token meant for another service is refused."
  type        = string
  default     = "vault"
  nullable    = false

  validation {
    condition     = can(regex("^[^,\\s]+$", var.vault_audience))
    error_message = "vault_audience must be a non-empty string without commas or whitespace (as the operator chart accepts)."
  }
}

variable "applications" {
  description = "The ApiBase applications that read Vault, keyed NAMESPACE/NAME (the ApiBase's namespace and name). Each gets a Vault role and policy named NAMESPACE-NAME (its spec.vault.auth.kubernetes.role), bound to that namespace and to service_account (spec.serviceAccountName; default NAME, the ServiceAccount the operator creates), reading only MOUNT/data/PREFIX/SECRET_PREFIX/* (secret_prefix defaults to NAMESPACE/NAME)."
  type        = map(object({ service_account = optional(string), secret_prefix = optional(string) }))
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key in keys(var.applications) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", key))])
    error_message = "applications keys must be NAMESPACE/NAME, two DNS labels (lower-case letters, digits and hyphens, at most 63 characters each)."
  }

  validation {
    condition     = alltrue([for app in values(var.applications) : app.service_account == null || can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", coalesce(app.service_account, "-")))])
    error_message = "applications service_account must be a DNS label (lower-case letters, digits and hyphens, at most 63 characters)."
  }

  validation {
    condition     = alltrue([for app in values(var.applications) : app.secret_prefix == null || (can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", coalesce(app.secret_prefix, "-"))) && !contains(split("/", coalesce(app.secret_prefix, "-")), "..") && !contains(split("/", coalesce(app.secret_prefix, "-")), "."))])
    error_message = "applications secret_prefix must be path segments of letters, digits, _, . and - separated by single slashes, without leading or trailing slash, . or .. segments, or wildcards."
  }

  validation {
    condition     = length(distinct([for key in keys(var.applications) : replace(key, "/", "-")])) == length(var.applications)
    error_message = "applications keys must give distinct Vault role names NAMESPACE-NAME (e.g. a-b/c and a/b-c both give a-b-c)."
  }
}

variable "vault_token_ttl_seconds" {
  description = "Lifetime of the Vault token the operator gets when it logs in as an application (it logs in at each sync)."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.vault_token_ttl_seconds >= 60 && var.vault_token_ttl_seconds <= 86400
    error_message = "vault_token_ttl_seconds must be from 60 to 86400."
  }
}

variable "vault_token_max_ttl_seconds" {
  description = "Longest a Vault token of an application can be renewed to."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.vault_token_max_ttl_seconds >= var.vault_token_ttl_seconds && var.vault_token_max_ttl_seconds <= 604800
    error_message = "vault_token_max_ttl_seconds must be at least vault_token_ttl_seconds and at most 604800 (7 days)."
  }
}

variable "vault_runs_in_cluster" {
  description = "Vault runs as pods in this cluster and reviews tokens with its own service account. When false (the default: Vault outside the cluster), the module creates a token-reviewer ServiceAccount bound to system:auth-delegator and gives its token to Vault."
  type        = bool
  default     = false
  nullable    = false
}

variable "kubernetes_host" {
  description = "URL of the Kubernetes API server as Vault reaches it: for EKS the cluster endpoint; the default only works for a Vault running in the cluster."
  type        = string
  default     = "https://kubernetes.default.svc"
  nullable    = false

  validation {
    condition     = can(regex("^https://[^\\s/]+(/.*)?$", var.kubernetes_host))
    error_message = "kubernetes_host must be an https:// URL."
  }

  validation {
    condition     = var.vault_runs_in_cluster || var.kubernetes_host != "https://kubernetes.default.svc"
    error_message = "kubernetes_host must be the API server URL Vault can reach (e.g. the EKS endpoint) when Vault runs outside the cluster."
  }
}

variable "kubernetes_ca_cert" {
  description = "PEM certificate of the cluster's certificate authority, for Vault's TLS client to the API server; null when vault_runs_in_cluster is true."
  type        = string
  default     = null

  validation {
    condition     = var.kubernetes_ca_cert == null || strcontains(coalesce(var.kubernetes_ca_cert, "-"), "-----BEGIN CERTIFICATE-----")
    error_message = "kubernetes_ca_cert must be a PEM certificate (base64-decode the EKS certificate_authority data first)."
  }

  validation {
    condition     = var.vault_runs_in_cluster || var.kubernetes_ca_cert != null
    error_message = "kubernetes_ca_cert is required when Vault runs outside the cluster (vault_runs_in_cluster = false)."
  }
}
