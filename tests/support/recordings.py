"""A small form whose questions have recordings, in English and Arabic, with its media folder:
real WAV files (a short tone, made here), as a volunteer's phone would record them."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

FORM_ID = "listening"
RATE = 8000
LABEL_EN = "What would you like us to call you?"
LABEL_AR = "ما الاسم الذي يناسبك أن نناديك به؟"
WHY_EN = "So your coach greets you the way you like."
WHY_AR = "ليحيّيك مرشدك بالطريقة التي تناسبك."

DEFINITION = f'''format = 1
id = "{FORM_ID}"
version = 1
languages = ["en", "ar", "fr"]

[[pages]]
key = "name"
heading = {{ en = "What to call you", ar = "الاسم الذي نناديك به", fr = "Votre nom" }}

[[pages.questions]]
key = "name"
kind = "short_text"
label = {{ en = "{LABEL_EN}", ar = "{LABEL_AR}", fr = "Quel nom voulez-vous ?" }}
why = {{ en = "{WHY_EN}", ar = "{WHY_AR}", fr = "Pour bien vous saluer." }}
[pages.questions.audio]
label = {{ en = "name-en.wav", ar = "name-ar.wav" }}
why = {{ ar = "name-why-ar.wav" }}

[[pages.questions]]
key = "mood"
kind = "one_choice"
label = {{ en = "How are you today?", ar = "كيف حالك اليوم؟", fr = "Comment allez-vous ?" }}
why = {{ en = "So your coach knows.", ar = "ليعرف مرشدك.", fr = "Pour votre coach." }}
choices = [
  {{ key = "good", label = {{ en = "Good", ar = "جيد", fr = "Bien" }} }},
  {{ key = "not_good", label = {{ en = "Not good", ar = "لست بخير", fr = "Pas bien" }} }},
]
[pages.questions.audio]
label = {{ ar = "mood-ar.wav" }}
'''
FILES = {"name-en.wav": 0.6, "name-ar.wav": 0.8, "name-why-ar.wav": 0.5, "mood-ar.wav": 0.4}


def spoken(seconds: float, pitch: float = 440.0) -> bytes:
    """A WAV file of a tone `seconds` long (mono, 8 kHz, 16 bit)."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * n / RATE)))
        for n in range(int(seconds * RATE))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(frames)
    return out.getvalue()


def write_form(folder: Path, files: dict[str, bytes] | None = None) -> Path:
    """The definition, and beside it its media folder with every recording it names (or
    `files` instead)."""
    definition = folder / f"{FORM_ID}.toml"
    definition.write_text(DEFINITION, encoding="utf-8")
    media = folder / f"{FORM_ID}-media"
    media.mkdir(exist_ok=True)
    sent = files if files is not None else {n: spoken(s) for n, s in FILES.items()}
    for name, content in sent.items():
        (media / name).write_bytes(content)
    return definition
