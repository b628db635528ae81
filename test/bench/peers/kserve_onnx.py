"""The bench peer: an ONNX model served by KServe's Python ModelServer, written the way a KServe user would.

KServe has no ONNX runtime of its own outside Triton, so a user wraps onnxruntime in a `kserve.Model` subclass:
load the session in `load()`, answer v2 requests in `predict()`. Everything else is KServe's defaults (one uvicorn
worker, latency logging on, gRPC on). Only the gRPC port defaults differently here, because KServe's default (8081)
is the elastic-serving gateway's port.

Usage:
  python kserve_onnx.py --model_path /abs/model.onnx --http_port 8090 [--model_name iris] [--grpc_port 0]
(plus any other `kserve.model_server` flag, e.g. --workers).
"""

import argparse

import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer, model_server
from kserve.utils.numpy_codec import from_np_dtype
from kserve.utils.utils import generate_uuid

# onnxruntime's type strings → v2 datatypes, for the model metadata endpoint.
V2_TYPES = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(float16)": "FP16",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(bool)": "BOOL",
    "tensor(string)": "BYTES",
}


def tensor_types(args):
    return [
        {
            "name": a.name,
            "datatype": V2_TYPES.get(a.type, a.type),
            "shape": [d if isinstance(d, int) else -1 for d in a.shape],
        }
        for a in args
    ]


class OnnxModel(Model):
    def __init__(self, name: str, model_path: str):
        super().__init__(name)
        self.model_path = model_path
        self.session = None
        self.ready = False

    def load(self) -> bool:
        self.session = ort.InferenceSession(self.model_path, providers=["CPUExecutionProvider"])
        self.ready = True
        return self.ready

    def get_input_types(self):
        return tensor_types(self.session.get_inputs())

    def get_output_types(self):
        return tensor_types(self.session.get_outputs())

    async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        feeds = {tensor.name: tensor.as_numpy() for tensor in payload.inputs}
        wanted = [o.name for o in payload.request_outputs] if payload.request_outputs else None
        names = wanted or [o.name for o in self.session.get_outputs()]
        results = self.session.run(names, feeds)
        outputs = []
        for name, value in zip(names, results):
            value = np.asarray(value)
            output = InferOutput(name=name, shape=list(value.shape), datatype=from_np_dtype(value.dtype))
            output.set_data_from_numpy(value, binary_data=False)
            outputs.append(output)
        return InferResponse(
            model_name=self.name, infer_outputs=outputs, response_id=payload.id or generate_uuid()
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_path", required=True, help="path of the .onnx file")
    parser.set_defaults(model_name="iris", grpc_port=0)
    args, _ = parser.parse_known_args()
    model = OnnxModel(args.model_name, args.model_path)
    model.load()
    ModelServer(grpc_port=args.grpc_port).start([model])
