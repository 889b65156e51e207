"""The core every other package imports and which imports none of them: the API contract
(errors, schemas), the engine contract, media references, storage, settings, the import helper.

    reelserve (client) ─▶ reelcore ◀─ serve_app, graphs, deployments

`serve_app`, `graphs` and `deployments` never import each other; the composition root
(`serve_app.app`) binds them through import paths from the config. `tests/test_layers.py` runs
the import-linter contract in `.importlinter` that keeps it so.
"""
