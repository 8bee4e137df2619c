"""QR codes as inline SVG (segno), for a two-step-code app to scan or a referral card.

segno (1 MiB) is imported by the pages that draw one, not by every worker at start."""

from __future__ import annotations

from markupsafe import Markup


def qr_svg(text: str, *, scales: bool = False) -> Markup:
    """`text` as an SVG QR code. With `scales`, it has a viewBox and no fixed width and height,
    so it takes the size the stylesheet gives it and is never cut off on a phone or on paper."""
    import segno

    svg = segno.make(text, error="m").svg_inline(
        scale=4, dark="#0b0c0c", light="#ffffff", omitsize=scales
    )
    return Markup(svg)  # noqa: S704 - segno's own SVG, of text Groundwork made itself
