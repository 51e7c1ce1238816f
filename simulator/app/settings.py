"""What the phone app remembers besides the identity: language and biometrics."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from simulator.i18n import DEFAULT, check_language


@dataclass
class PhoneSettings:
    language: str = DEFAULT
    biometrics: bool = False
    path: Path | None = None

    @classmethod
    def load(cls, path: Path | None, language: str | None = None) -> PhoneSettings:
        settings = cls(path=path)
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                data = {}
            if isinstance(data, dict):
                settings.language = check_language(str(data.get("language", DEFAULT)))
                settings.biometrics = bool(data.get("biometrics", False))
        if language is not None:
            settings.language = check_language(language)
        return settings

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.path)
