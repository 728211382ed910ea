"""The catalog's HTTP edge: the v1/v2 products routers and product images."""
