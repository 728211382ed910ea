"""The ApiBase operator: reconciles ``ApiBase`` custom resources into everything a service needs on a cluster."""

__all__ = ["API_VERSION", "GROUP", "KIND", "PLURAL", "VERSION"]

GROUP = "apibase.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "ApiBase"
PLURAL = "apibases"
