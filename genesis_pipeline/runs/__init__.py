"""Running projects: what a run is asked (options), the pipeline of steps that does it, and
control of runs in background workers. Above the services; the front ends call it."""
