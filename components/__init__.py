"""The Python TFX components of the pipelines (ExampleGens, Pusher, gates)."""
