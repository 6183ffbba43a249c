"""Running projects: what a run is asked (options), the pipeline of steps that does it (and the
record it keeps), and control of runs and copy workers in background processes. Above the
services; the front ends call it."""
