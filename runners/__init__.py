"""Where pipelines run: the local runner, the Kubeflow compiler, and the `mnist-tfx` CLI."""
