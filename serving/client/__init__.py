"""Clients for TF Serving's REST and gRPC APIs: this project's server or a real TF Serving.

Depends on the contracts (schemas/), requests, grpcio and the TF Serving protos only —
never on TFX — so an application can call a deployed model without the pipeline.
"""

from serving.client.errors import ServingError  # noqa: F401
