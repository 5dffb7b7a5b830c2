"""Checking the desired state offline: schema and values validation, regex semantics, policies, masking, the verdict."""
