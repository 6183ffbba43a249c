"""Pipeline stages: pure functions of their inputs and a frozen ``Params`` dataclass.

Contract (see docs/architecture.md): a stage never opens the database, never reads settings and
never calls another stage. Each module exposes ``VERSION`` (bump when its output changes), its
``Params`` dataclass, a ``run``-style function taking a
:data:`~genesis_pipeline.progress.Progress` callback, and result dataclasses the stage cache
stores through :mod:`genesis_pipeline.serde`.
"""
