"""Quantized checkpoints keep the vocabulary tables (token embedding, LM head) in 16 bits (tiled.table_dtype):
what a quantized GPU model reads and holds for them, and the option that quantizes them too."""
import pytest

from archsim.families.gpu.mapper.tiled import table_dtype
from archsim.pipeline import run
from archsim.workload.model import Scenario

from tests.cli_checks import bad

FP8 = Scenario(phase="decode", batch=1, context_len=1024, weight_dtype="fp8", act_dtype="fp16", kv_dtype="fp8")
VOCAB_X_HIDDEN = 128256 * 4096  # Llama-3.1-8B's table (untied: embedding and LM head)


def _op_s(result, name):
    return next(o for o in result.ops if o.name == name).time_s


def test_an_fp8_model_reads_and_holds_its_vocabulary_tables_in_16_bits():
    kept = run("h100-sxm", "llama3.1-8b", FP8)
    quantized = run("h100-sxm", "llama3.1-8b", FP8, options={"lm_head": "weights"})
    # both tables at 2 bytes instead of 1
    assert kept.extra["hbm_need_gb"] - quantized.extra["hbm_need_gb"] == pytest.approx(2 * VOCAB_X_HIDDEN / 1e9,
                                                                                         rel=0.01)
    # at batch 1 the LM head streams its weights: twice the bytes, about twice the time
    assert _op_s(kept, "lm_head") == pytest.approx(2 * _op_s(quantized, "lm_head"), rel=0.15)
    assert kept.latency_s > quantized.latency_s
    assert any("vocabulary tables" in note for note in kept.notes)
    assert not any("vocabulary tables" in note for note in quantized.notes)


def test_16_bit_models_are_untouched_by_the_rule():
    bf16 = Scenario(phase="decode", batch=1, context_len=1024)
    assert run("h100-sxm", "llama3.1-8b", bf16).latency_s == \
        run("h100-sxm", "llama3.1-8b", bf16, options={"lm_head": "weights"}).latency_s


@pytest.mark.parametrize("weights, act, option, expected", [
    ("fp8", "fp16", "16bit", "fp16"), ("fp4", "bf16", "16bit", "bf16"), ("int4", "bf16", "16bit", "bf16"),
    ("fp8", "fp8", "16bit", "bf16"), ("fp8", "fp16", "weights", "fp8"), ("bf16", "bf16", "16bit", "bf16"),
])
def test_the_tables_dtype(weights, act, option, expected):
    assert table_dtype(Scenario(weight_dtype=weights, act_dtype=act), option) == expected


def test_a_bad_lm_head_option_is_one_clear_error(capsys):
    bad(["run", "h100-sxm", "llama3.1-8b", "-o", "lm_head=fp8"], capsys, "lm_head", "16bit, weights")
