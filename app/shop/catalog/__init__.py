"""Catalog module: products, their prices and images (domain → application → infrastructure → interface)."""
