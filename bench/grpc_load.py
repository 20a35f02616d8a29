"""Closed-loop gRPC load for bench/serving.py: N concurrent Predict callers for D seconds.

Runs as its own process (`python -m bench.grpc_load ...`) so that the load
generator's Python does not share a GIL with the server or the bench driver.
Uses grpc.aio (one channel, N coroutines), the cheapest Python gRPC client; it
prints one JSON line: requests, errors, seconds, requests/s.
"""

import argparse
import asyncio
import base64
import json
import time

import grpc
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


async def _load(target: str, request: predict_pb2.PredictRequest, clients: int,
                seconds: float) -> dict:
  async with grpc.aio.insecure_channel(target) as channel:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    await stub.Predict(request, timeout=30)  # connect outside the window
    done = errors = 0
    deadline = time.monotonic() + seconds

    async def caller():
      nonlocal done, errors
      while time.monotonic() < deadline:
        try:
          await stub.Predict(request, timeout=30)
          done += 1
        except grpc.aio.AioRpcError:
          errors += 1

    started = time.monotonic()
    await asyncio.gather(*(caller() for _ in range(clients)))
    wall = time.monotonic() - started
  return {"requests": done, "errors": errors, "seconds": round(wall, 3),
          "requests_per_s": round(done / wall, 1)}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--target", required=True)
  parser.add_argument("--request-b64", required=True, help="a serialized PredictRequest, base64")
  parser.add_argument("--clients", type=int, required=True)
  parser.add_argument("--seconds", type=float, required=True)
  args = parser.parse_args()
  request = predict_pb2.PredictRequest.FromString(base64.b64decode(args.request_b64))
  print(json.dumps(asyncio.run(_load(args.target, request, args.clients, args.seconds))))


if __name__ == "__main__":
  main()
