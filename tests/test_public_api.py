"""The public API: every name in __all__ resolves, and the documented example runs."""
import archsim


def test_every_exported_name_resolves():
    for name in archsim.__all__:
        assert getattr(archsim, name) is not None, name


def test_documented_example_runs():
    system = archsim.load_system("dgx-h100", overrides=[("chip.hbm.bandwidth", "6 TB/s")])
    assert system.chip.hbm.bandwidth == 6e12
    result = archsim.run(system, "tiny", archsim.Scenario(phase="decode", batch=8), options={"tp": 2})
    assert result.chips_used == 2 and result.tpot_s > 0
    assert "TPOT" in archsim.render(result)
    assert result.to_dict()["provenance"]["options"]["tp"] == 2
