"""Engines, one per file, each implementing `reelcore.engine.Engine`; hosted by `serve_app.engine_server`."""
