"""HTTP security edge: who is calling (authentication middleware), what they may do (permission dependencies)."""
