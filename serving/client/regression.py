"""The regression model's plain-tensor signature: y for each x (schemas/regression/contract.py)."""

from typing import List, Sequence

import numpy as np

from schemas.regression import contract
from serving.client.grpc_client import GrpcClient
from serving.client.rest import RestClient


def predict_y(client, xs: Sequence[float]) -> List[float]:
  if isinstance(client, RestClient):
    return [float(y) for y in client.predict(instances=list(map(float, xs)),
                                             signature_name=contract.PREDICT_X_SIGNATURE)]
  assert isinstance(client, GrpcClient)
  outputs = client.predict({contract.PREDICT_X_INPUT: np.asarray(xs, np.float32)},
                           signature_name=contract.PREDICT_X_SIGNATURE)
  return outputs[contract.OUTPUT_PREDICTIONS].astype(float).tolist()
