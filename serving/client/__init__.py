"""Clients for TF Serving's REST and gRPC APIs: this project's server or a real TF Serving.

Depends on the contracts (schemas/), protobuf, grpcio, requests, numpy and Pillow only —
never on TFX, and not on TensorFlow once its protos are generated (serving/client/protos.py
says which modules it uses and why they can sit beside TensorFlow's) — so an application
can call a deployed model without the pipeline. client/ builds it as its own wheel,
mnist-tfx-client, with the console script `mnist-tfx-client predict`.
"""

from serving.client.errors import ServingError  # noqa: F401
