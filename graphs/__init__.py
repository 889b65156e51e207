"""Pipelines: each composes engine deployments through their handles."""
