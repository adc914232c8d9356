#!/usr/bin/env python3
"""Does ONNX Runtime's CPU execution provider run a bfloat16 convolution? (docs/performance.md, "int8 and bf16")

    python3 bench/bf16_probe.py

Builds a one-node Conv model in bfloat16 (opset 22, the first whose Conv admits bfloat16) and asks the
installed onnxruntime for a CPU session. With onnxruntime 1.31.1 the answer is NOT_IMPLEMENTED: there is no
bf16 Conv kernel on the CPU provider, so a bf16 copy of the shipped networks cannot run there.
"""
import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

x = helper.make_tensor_value_info("x", TensorProto.BFLOAT16, [1, 4, 8, 8])
y = helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [1, 4, 8, 8])
w = helper.make_tensor("w", TensorProto.BFLOAT16, [4, 4, 3, 3], vals=np.zeros(144, np.uint16).tobytes(), raw=True)
graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "g", [x], [y], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
model.ir_version = 10
try:
    ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__}: a bf16 Conv runs on the CPU provider")
except Exception as e:  # noqa: BLE001 - the refusal is the answer
    print(f"onnxruntime {ort.__version__}: bf16 Conv refused on the CPU provider: {str(e).strip()}")
