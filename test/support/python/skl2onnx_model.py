"""Trains scikit-learn's LogisticRegression on sklearn's iris data and exports it with skl2onnx.

A second-opinion model made by real Python tooling, for the model-server tests. The graph has the same signature as
functions/examples/iris: input `input` FP32 [N,4]; outputs `label` INT64 [N] and `probabilities` FP32 [N,3]
(ZipMap off, so both outputs are plain tensors).

Usage: python skl2onnx_model.py --out path/model.onnx [--opset 17]
Prints one JSON line: {"path", "bytes", "accuracy", "opset", "ir_version", "inputs", "outputs", "versions"}.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="where to write the .onnx file")
    parser.add_argument(
        "--opset", type=int, default=17, help="default-domain opset to target"
    )
    args = parser.parse_args()

    iris = load_iris()
    x = iris.data.astype(np.float32)
    y = iris.target
    clf = LogisticRegression(max_iter=1000).fit(x, y)

    model = convert_sklearn(
        clf,
        name="iris_logreg",
        initial_types=[("input", FloatTensorType([None, 4]))],
        final_types=[("label", Int64TensorType([None])), ("probabilities", FloatTensorType([None, 3]))],
        options={id(clf): {"zipmap": False}},
        target_opset={"": args.opset, "ai.onnx.ml": 3},
    )
    model.metadata_props.add(key="labels", value=json.dumps([str(n) for n in iris.target_names]))
    onnx.checker.check_model(model)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    data = model.SerializeToString()
    with open(args.out, "wb") as f:
        f.write(data)

    def describe(values):
        return [
            {
                "name": v.name,
                "elem_type": onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type),
                "shape": [d.dim_value if d.HasField("dim_value") else -1 for d in v.type.tensor_type.shape.dim],
            }
            for v in values
        ]

    print(
        json.dumps(
            {
                "path": os.path.abspath(args.out),
                "bytes": len(data),
                "accuracy": float(clf.score(x, y)),
                "opset": {o.domain or "ai.onnx": o.version for o in model.opset_import},
                "ir_version": model.ir_version,
                "inputs": describe(model.graph.input),
                "outputs": describe(model.graph.output),
                "versions": {"sklearn": sklearn.__version__, "skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
