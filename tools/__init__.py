"""Repository tools: checks CI runs on the code (not part of the installed package)."""
