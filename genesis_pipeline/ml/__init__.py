"""Model loading: the one place that decides device, dtype and where weights come from."""
