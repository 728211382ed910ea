"""The ordering HTTP edge: the v1/v2 orders routers."""
