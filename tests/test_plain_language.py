"""Plain English, measured: every client-facing string and consent text (DESIGN.md §2)."""

from __future__ import annotations

from tools import plain


def test_every_client_facing_english_string_is_plain() -> None:
    measured = plain.client_strings()
    assert len(measured) > 200, "the client-facing strings were not found"
    failing = [f"{m.source}: {m.text!r}: {', '.join(m.problems)}" for m in measured if m.problems]
    assert not failing, "\n".join(failing)


def test_the_measure_can_fail() -> None:
    """A sentence a lawyer would write is caught; one a friend would say is not."""
    hard = plain.measure(
        "Notwithstanding the aforementioned provisions, authorisation for the processing of "
        "personal information is irrevocably conferred upon the organisation's representatives.",
        "example",
    )
    assert hard.problems
    easy = plain.measure("You can skip any question. You can stop and come back later.", "example")
    assert not easy.problems
    long = plain.measure(" ".join(["word"] * 21) + ".", "example")
    assert any("21 words" in problem for problem in long.problems)
