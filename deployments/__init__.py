"""Engines, one per file, each hosted by the generic `deployments.base.EngineServer`."""
