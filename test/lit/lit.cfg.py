# lit configuration for lowbit's FileCheck tests.
import glob
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "lowbit"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lowbit_obj_root, "test", "lit")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

# Every FileCheck variable is scoped to its CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "-enable-var-scope"

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["lowbit-opt", "lowbit-compile", "lowbit-quantize", "lowbit-run"],
                                   [config.lowbit_tools_dir])
config.substitutions.append(("%lowbit_src", config.lowbit_src_root))
# The interpreter lit runs under (Debian's, with python3-onnx and numpy).
config.substitutions.append(("%python", sys.executable))

# scripts/setup.sh's venv holds llama-cpp-python: where it exists,
# lowbit-quantize's output is compared with llama.cpp's byte for byte.
lowbit_venv = os.path.join(os.environ.get("LOWBIT_CACHE", os.path.expanduser("~/.cache/lowbit")), "venv")
if glob.glob(os.path.join(lowbit_venv, "lib", "python3*", "site-packages", "llama_cpp", "__init__.py")):
    config.available_features.add("llama-cpp")
    config.substitutions.append(("%llama_cpp_python", os.path.join(lowbit_venv, "bin", "python")))
