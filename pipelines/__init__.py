"""The pipeline graphs and the definitions that register them by name."""
