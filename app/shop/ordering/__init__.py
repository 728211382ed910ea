"""Ordering module: orders placed against catalog products, as commands and queries on the kernel's buses."""
