"""A problem the data check found, said in Chinese with the file and line to open."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Finding:
    level: str  # "error" | "warning" | "info"
    code: str  # stable id the tests and tools rely on
    file: str
    line: int
    message: str  # Chinese, for the trainer
    subject: str = ""  # the intent/response a finding of Rasa's validator is about

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        label = "错误" if self.level == "error" else "警告"
        return f"[{label}] {where}  {self.message}"
