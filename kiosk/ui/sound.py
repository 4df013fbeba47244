"""Sound cues (key click, error, reminder) as small WAV files made with the stdlib at first use."""

from __future__ import annotations

import logging
import math
import struct
import wave
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

RATE = 16_000
# name -> ((frequency Hz, seconds), ...): short tones, silence where frequency is 0.
CUES: dict[str, tuple[tuple[int, float], ...]] = {
    "click": ((1800, 0.03),),
    "error": ((440, 0.15), (0, 0.05), (330, 0.25)),
    "reminder": ((880, 0.2), (0, 0.08), (660, 0.2), (0, 0.08), (880, 0.3)),
}


def write_cue(path: Path, tones: tuple[tuple[int, float], ...]) -> Path:
    """Write a mono 16-bit WAV of ``tones`` (with 5 ms fades, no clicks). Raises OSError."""
    frames = bytearray()
    for freq, seconds in tones:
        count = int(RATE * seconds)
        fade = int(RATE * 0.005)
        for i in range(count):
            gain = min(1.0, i / fade, (count - i) / fade) if freq else 0.0
            sample = int(12_000 * gain * math.sin(2 * math.pi * freq * i / RATE))
            frames += struct.pack("<h", sample)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    return path


def ensure_cues(directory: Path) -> dict[str, Path]:
    """Make every cue's WAV in ``directory`` if missing; return name -> path. Raises OSError."""
    paths = {}
    for name, tones in CUES.items():
        path = directory / f"{name}.wav"
        paths[name] = path if path.exists() else write_cue(path, tones)
    return paths


class SoundPlayer:
    """Plays cues through Kivy's audio; a missing audio device is logged once, never raised.

    ``played`` records every cue asked for (tests and diagnostics); the reminder repeats on
    ``schedule`` (Kivy's Clock in the app) until ``stop_reminder``.
    """

    def __init__(self, directory: Path, schedule: Callable[[Callable[[float], None], float], object]) -> None:
        self._paths = ensure_cues(directory)
        self._schedule = schedule
        self._sounds: dict[str, object] = {}
        self._event: object | None = None
        self.played: list[str] = []

    @property
    def reminding(self) -> bool:
        """True while the repeating reminder is on."""
        return self._event is not None

    def play(self, name: str) -> None:
        """Play one cue (click / error / reminder). Never raises."""
        self.played.append(name)
        sound = self._sounds.get(name)
        if sound is None:
            try:
                from kivy.core.audio import SoundLoader

                sound = SoundLoader.load(str(self._paths[name]))
            except Exception:  # an audio backend failure must not stop a transaction
                log.warning("sound %s unavailable", name, exc_info=True)
            if sound is None:
                return
            self._sounds[name] = sound
        try:
            sound.play()  # type: ignore[attr-defined]
        except Exception:
            log.warning("sound %s failed to play", name, exc_info=True)

    def start_reminder(self, every: float = 3.0) -> None:
        """Play the reminder now and every ``every`` seconds until stopped. Never raises."""
        if self._event is None:
            self.play("reminder")
            self._event = self._schedule(lambda _dt: self.play("reminder"), every)

    def stop_reminder(self) -> None:
        """Stop the repeating reminder (音声停止). Never raises."""
        event, self._event = self._event, None
        if event is not None:
            cancel = getattr(event, "cancel", None)
            if callable(cancel):
                cancel()
