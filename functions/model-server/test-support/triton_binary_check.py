"""Binary tensor extension check with NVIDIA's tritonclient[http] (its default mode: binary_data=True).

Usage: python triton_binary_check.py --url 127.0.0.1:8080 --model iris
Sends FP32 [3,4] as binary, asks `label` as binary and `probabilities` as JSON, prints one JSON object.
"""

import argparse
import json

import numpy as np
import tritonclient.http as httpclient


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    client = httpclient.InferenceServerClient(url=args.url)
    rows = np.asarray([[5.1, 3.5, 1.4, 0.2], [6.4, 3.2, 4.5, 1.5], [7.7, 3.0, 6.1, 2.3]], dtype=np.float32)
    infer_input = httpclient.InferInput("input", list(rows.shape), "FP32")
    infer_input.set_data_from_numpy(rows)  # binary_data=True by default
    outputs = [
        httpclient.InferRequestedOutput("label", binary_data=True),
        httpclient.InferRequestedOutput("probabilities", binary_data=False),
    ]
    result = client.infer(args.model, [infer_input], outputs=outputs, request_id="bin-1")
    print(
        json.dumps(
            {
                "id": result.get_response().get("id"),
                "label": result.as_numpy("label").tolist(),
                "probabilities_shape": list(result.as_numpy("probabilities").shape),
                "label_dtype": str(result.as_numpy("label").dtype),
            }
        )
    )
    client.close()


if __name__ == "__main__":
    main()
