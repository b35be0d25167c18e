"""archsim: a cycle-level performance model of AI accelerators for LLM inference."""
__version__ = "0.1.0"
