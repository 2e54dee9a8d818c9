"""The LSTM rows of :mod:`benchmarks/vjp.py` (this script's former content, kept as a command).

python benchmarks/lstm_vjp.py    # the same as: python benchmarks/vjp.py lstm
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vjp import main  # noqa: E402

if __name__ == "__main__":
    main(["lstm"])
