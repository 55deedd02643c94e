"""Run observability: one log line per interval, ``metrics.jsonl`` and TensorBoard event files.

``metrics.jsonl`` holds one JSON object per logged step: ``step``, ``loss`` (the sum of the task losses),
``loss/<task>`` per task, ``lr``, ``tokens_per_s``, ``seq_len``, ``batch_size``, ``pad_fraction``,
``elapsed_s``, ``tokens_seen``, ``mem_len`` (cached NLG memory positions); evaluation
records add ``kind: "eval"`` and ``eval/<task>/loss``, ``eval/<task>/accuracy``, ``eval/dlm/perplexity``.
Only rank 0 writes.

Reading it back (:func:`read_metrics`, and a resumed run's :meth:`MetricsWriter.truncate_after`) goes through
:mod:`kgtext.common.jsonl`: a torn last line (an append cut short by a full disk or a kill) is skipped with a
WARNING naming the file, and a resumed run rewrites the file without it; a bad line anywhere else is a
ValueError naming ``file:line``.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from kgtext.common.jsonl import read_json_lines
from kgtext.model.files import write_error

logger = logging.getLogger(__name__)

METRICS_NAME = "metrics.jsonl"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def format_line(record: dict[str, Any], max_steps: int) -> str:
    """The human log line of a training record: step, losses per task, lr, tokens/s, elapsed/ETA."""
    step = record["step"]
    tasks = " ".join(f"{k.split('/', 1)[1]} {v:.3f}" for k, v in record.items() if k.startswith("loss/"))
    elapsed = record["elapsed_s"]
    eta = elapsed / max(1, step) * max(0, max_steps - step)
    return (
        f"step {step}/{max_steps} loss {record['loss']:.4f} ({tasks}) lr {record['lr']:.2e} "
        f"tok/s {record['tokens_per_s']:.0f} seq {record['seq_len']} batch {record['batch_size']} "
        f"mem {record.get('mem_len', 0)} "
        f"elapsed {_duration(elapsed)} eta {_duration(eta)}"
    )


class MetricsWriter:
    """Appends records to ``RUN_DIR/metrics.jsonl`` and TensorBoard (rank 0 only; a no-op elsewhere)."""

    def __init__(self, run_dir: Path, *, enabled: bool, tensorboard: bool) -> None:
        self.enabled = enabled
        self.path = run_dir / METRICS_NAME
        self._tb: Any = None
        if enabled and tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def truncate_after(self, step: int) -> None:
        """Drop records beyond ``step`` (a resumed run rewrites the steps after its checkpoint)."""
        if not self.enabled or not self.path.exists():
            return
        kept = [record for record in read_metrics_file(self.path) if record["step"] <= step]
        self.path.write_text("".join(json.dumps(record) + "\n" for record in kept), encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        clean = {
            k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in record.items()
        }
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(clean) + "\n")
        except OSError as err:
            raise write_error(self.path, err) from None
        if self._tb is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._tb.add_scalar(key, value, record["step"])
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """All records of a run's ``metrics.jsonl`` (training and evaluation)."""
    return read_metrics_file(Path(run_dir) / METRICS_NAME)


def read_metrics_file(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``: a torn last line is skipped with a WARNING; any other bad line,
    or a record that is not an object with an integer ``step``, is a ValueError naming ``file:line``."""
    records = []
    for line in read_json_lines(path, torn_tail=True):  # a JsonlError is a ValueError naming file:line
        value = line.value
        if not isinstance(value, dict) or type(value.get("step")) is not int:
            raise ValueError(f"{path}:{line.number}: not a metrics record (an object with an integer 'step')")
        records.append(value)
    return records
