/**
 * The Python environments tests and the bench use, by name → pip requirements. Pinned to versions verified on
 * Python 3.11 here, so a cached venv stays what the tests were written against.
 */
export const PYTHON_ENVS = {
  /** Independent Open Inference Protocol v2 client (triton_v2_client.py). */
  tritonclient: ['tritonclient[http]==2.73.0', 'numpy==2.4.6'],
  /** A second-opinion ONNX model exported by real Python tooling (skl2onnx_model.py). */
  skl2onnx: ['scikit-learn==1.9.1', 'skl2onnx==1.20.0', 'onnx==1.23.2'],
  /** The bench peer: KServe's Python ModelServer around onnxruntime (test/bench/peers/kserve_onnx.py). */
  kserve: ['kserve==0.21.0', 'onnxruntime==1.32.0', 'numpy==2.4.6'],
} as const satisfies Record<string, readonly string[]>;

export type PythonEnvName = keyof typeof PYTHON_ENVS;
