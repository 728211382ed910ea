"""The ApiBase custom resource, defined once as pydantic models; its CRD YAML is generated from them."""
