"""Disaggregated prefill and decode (archsim/serving/disagg.py): answers worked out by hand."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from archsim.cli import main
from archsim.serving.api import run_serving
from archsim.serving.disagg import Link, _transfers
from cli_checks import bad as _bad

SPREAD = {"rate": 0.05, "requests": 8, "prompt_tokens": 300, "output_tokens": 20}  # far apart: no queueing


def _pair(link, **flags):
    disagg = f"prefill_chips=1,decode_chips=1,prefill_tp=1,decode_tp=1,{link}"
    return run_serving("dgx-h100", "tiny", flags={**SPREAD, **flags, "disaggregate": disagg})[0]


def _colocated(**flags):
    return run_serving("dgx-h100", "tiny", flags={**SPREAD, **flags}, options={"tp": 1})[0]


def test_an_ideal_link_equals_the_colocated_bound_for_the_same_chips():
    """Requests far apart: each prefill runs alone on the prefill GPU, each decode alone on the decode GPU, the
    same steps a lone request runs on one colocated GPU; with an ideal link (no time), every token comes at the
    same moment."""
    pair, colo = _pair("link=ideal"), _colocated()
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        np.testing.assert_allclose(pair.per_request[key], colo.per_request[key], rtol=1e-12)
    assert pair.summary["link"]["energy_j"] == 0.0 and pair.setup["chips"] == 2


def test_the_link_adds_latency_plus_bytes_over_bandwidth_to_every_decode():
    """1 GB/s and 1 ms: the K/V of 300 tokens of tiny (bytes per token from its shapes) arrives 1 ms +
    bytes / 1e9 s after the first token, and every later token is that much later; TTFT does not move."""
    pair, colo = _pair("link=infiniband,bandwidth=1 GB/s,latency=1 ms"), _colocated()
    per_token = pair.setup["kv_bytes_per_token"]
    delay = 1e-3 + 300 * per_token / 1e9
    np.testing.assert_allclose(pair.per_request["ttft_s"], colo.per_request["ttft_s"], rtol=1e-12)
    np.testing.assert_allclose(pair.per_request["e2e_s"] - colo.per_request["e2e_s"], delay, rtol=1e-9)
    link = pair.summary["link"]
    assert link["transfers"] == 8 and link["bytes"] == pytest.approx(8 * 300 * per_token)
    assert link["energy_j"] == pytest.approx(link["bytes"] * 15e-12 * 8)  # infiniband: 15 pJ/bit


def test_transfers_queue_per_prefill_replica():
    """Three K/V transfers of 1 s each: two ready at t = 0 on replica 0 go one after the other (the second waits
    1 s); one on replica 1 goes at once."""
    first = SimpleNamespace(first_token_s=np.array([0.0, 0.0, 0.0]), replica=np.array([0, 0, 1]))
    start, end = _transfers(first, np.ones(3, dtype=bool), np.full(3, 1e9), Link("x", 1e9, 0.0, 0.0))
    assert start.tolist() == [0.0, 1.0, 0.0] and end.tolist() == [1.0, 2.0, 1.0]


def test_two_systems_and_the_json(tmp_path):
    out = tmp_path / "d.json"
    assert main(["serve", "dgx-h100", "tiny", "--rate", "2", "--requests", "20", "--prompt-tokens", "200",
                 "--output-tokens", "10", "--slo", "ttft=2s,tpot=100ms", "--disaggregate",
                 "decode=h100-sxm,prefill_tp=4,prefill_replicas=2,link=ethernet", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["setup"]["disaggregated"] and doc["setup"]["decode"]["system"] == "h100-sxm"
    assert doc["setup"]["chips"] == 9 and doc["summary"]["finished"] == 20
    assert doc["summary"]["link"]["kind"] == "ethernet" and doc["summary"]["efficiency"]["chips"] == 9
    assert doc["summary"]["efficiency"]["goodput_output_tokens_per_usd"] > 0


def test_bad_disaggregated_input(capsys):
    serve = ["serve", "dgx-h100", "tiny", "--rate", "1", "--prompt-tokens", "10", "--output-tokens", "2"]
    _bad(serve + ["--disaggregate", "decode=h100-sxm,link=nvlink"], capsys, "nvlink joins pools on one")
    _bad(serve + ["--disaggregate", "prefill_chips=6,decode_chips=4,link=ideal"], capsys, "6 + 4 chips")
    _bad(serve + ["--disaggregate", "decode=h100-sxm"], capsys, "disaggregated.link", "needs the link")
    _bad(serve + ["--disaggregate", "decoder=h100-sxm,link=ideal"], capsys, "unknown key 'decoder'")
    _bad(serve + ["--disaggregate", "link=pcie"], capsys, "disaggregated.link.kind")
