"""What every bad-input test asserts of the command line (shared by the test files that feed it bad input)."""
from __future__ import annotations

from archsim.cli import main


def bad(argv, capsys, *words):
    """Run `archsim argv`; it must exit 2 and say every one of `words` on stderr, without a traceback."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    return err
