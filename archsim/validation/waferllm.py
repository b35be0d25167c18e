"""WaferLLM's measurement method (He et al., OSDI 2025), shared by the cases that reproduce it.

The mesh family's cases (archsim/families/mesh/validation.py) and the
cross-family energy cases (archsim/validation/energy.py) both run the paper's
setup; it is defined here, below both, so neither imports the other's package.
"""
WAFERLLM_CONTEXT = 4096
# the paper's prefill: one pass over the whole prompt, every GEMM as MeshGEMM (mesh-dataflow options)
WAFERLLM_PREFILL_OPTIONS = {"prefill_chunk": str(WAFERLLM_CONTEXT), "prefill_layout": "blocks"}
