"""An independent Open Inference Protocol v2 client check, using NVIDIA's `tritonclient[http]`.

Given a server's base URL (any path prefix, e.g. a gateway's http://127.0.0.1:8081/ns/isvc) and a model name, it
checks server live/ready, server metadata, model ready/metadata, runs an FP32 [n,4] inference on the iris model with
JSON (non-binary) tensors, and probes an unknown model for the error path. Prints one JSON object; exits 1 when a
check fails (the JSON's "failures" says which), 2 on usage errors.

Usage:
  python triton_v2_client.py --url http://127.0.0.1:8080 --model iris [--rows '[[5.1,3.5,1.4,0.2]]'] [--id req-1]
      [--json-content-type]

Stock tritonclient POSTs JSON-only infer bodies with no Content-Type header (Triton accepts that). KServe's Python
server then treats the body as binary and answers 400; --json-content-type adds `Content-Type: application/json`.
"""

import argparse
import json
import sys
from urllib.parse import urlsplit

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

TEXTBOOK_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.4, 3.2, 4.5, 1.5], [7.7, 3.0, 6.1, 2.3]]


def client_for(url: str) -> httpclient.InferenceServerClient:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"--url must be http(s)://host:port[/prefix], got {url}")
    # tritonclient takes "host:port/prefix" without the scheme, and the scheme as a flag.
    return httpclient.InferenceServerClient(
        url=f"{parts.netloc}{parts.path.rstrip('/')}", ssl=parts.scheme == "https", network_timeout=30.0
    )


def error_of(exc: InferenceServerException) -> dict:
    return {"status": exc.status(), "message": exc.message()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8081/default/models")
    parser.add_argument("--model", required=True, help="model name, e.g. iris")
    parser.add_argument("--rows", help="JSON list of [4 floats] rows (default: one textbook row per species)")
    parser.add_argument("--id", default="triton-client-check", help="request id, expected to be echoed")
    parser.add_argument(
        "--json-content-type", action="store_true", help="send Content-Type: application/json with infer requests"
    )
    args = parser.parse_args()
    rows = json.loads(args.rows) if args.rows else TEXTBOOK_ROWS

    client = client_for(args.url)
    report: dict = {"url": args.url, "model": args.model, "failures": []}
    headers = {"Content-Type": "application/json"} if args.json_content_type else None

    def check(name: str, ok: bool) -> None:
        if not ok:
            report["failures"].append(name)

    try:
        report["server_live"] = client.is_server_live()
        report["server_ready"] = client.is_server_ready()
        report["server_metadata"] = client.get_server_metadata()
        report["model_ready"] = client.is_model_ready(args.model)
        report["model_metadata"] = client.get_model_metadata(args.model)

        data = np.asarray(rows, dtype=np.float32).reshape(-1, 4)
        infer_input = httpclient.InferInput("input", list(data.shape), "FP32")
        infer_input.set_data_from_numpy(data, binary_data=False)
        outputs = [
            httpclient.InferRequestedOutput("probabilities", binary_data=False),
            httpclient.InferRequestedOutput("label", binary_data=False),
        ]
        result = client.infer(args.model, [infer_input], outputs=outputs, request_id=args.id, headers=headers)
        response = result.get_response()
        probabilities = result.as_numpy("probabilities")
        labels = result.as_numpy("label")
        report["infer"] = {
            "id": response.get("id"),
            "model_name": response.get("model_name"),
            "outputs": {o["name"]: {"datatype": o["datatype"], "shape": o["shape"]} for o in response["outputs"]},
            "label": labels.tolist(),
            "probabilities": probabilities.tolist(),
        }
        check("id echoed", response.get("id") == args.id)
        check("label shape", list(labels.shape) == [len(data)])
        check("probabilities shape", list(probabilities.shape) == [len(data), 3])
        check("probabilities sum to 1", bool(np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)))
        check("label is argmax", labels.tolist() == probabilities.argmax(axis=1).tolist())

        only_label = client.infer(
            args.model,
            [infer_input],
            outputs=[httpclient.InferRequestedOutput("label", binary_data=False)],
            headers=headers,
        )
        names = [o["name"] for o in only_label.get_response()["outputs"]]
        report["output_selection"] = names
        check("output selection", names == ["label"])
    except InferenceServerException as exc:
        report["error"] = error_of(exc)
        check("request failed", False)

    try:
        client.get_model_metadata(f"{args.model}-no-such-model")
        check("unknown model answers an error", False)
    except InferenceServerException as exc:
        report["unknown_model_error"] = error_of(exc)
        check("unknown model answers 404", exc.status() == "404")

    for flag in ("server_live", "server_ready", "model_ready"):
        check(flag, report.get(flag) is True)
    print(json.dumps(report))
    client.close()
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
