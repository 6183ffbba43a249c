"""Actors the tests act as: one per role (services refuse a role without the right)."""

from genesis_pipeline.services.access import Actor

ADMIN = Actor("cli", "tests", "admin")
REVIEWER = Actor("user", "rita", "reviewer")
VIEWER = Actor("user", "victor", "viewer")
