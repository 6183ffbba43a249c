"""Pipeline steps: the glue between a stage (pure) and the store (rows, artifacts, cache).

Each step module has ``run(ctx) -> StepOutcome``: it computes its stage's cache key, looks the
result up in the stage cache, runs the stage only on a miss, and writes rows only when the stored
rows were made from a different key. The orchestrator in ``genesis_pipeline.runs.pipeline``
calls them in order and records what each did.
"""
