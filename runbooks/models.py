"""Runbooks written in Markdown (see the runbooks issue)."""
