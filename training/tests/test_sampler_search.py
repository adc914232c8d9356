"""The sampler search of `dgmf-train calibrate` (dgmf_train.sampler_search)."""
import pytest

from dgmf_train import sampler_search as S
from dgmf_train.paths import REPO, find_cli


def test_choose_takes_the_cheapest_within_the_tolerance():
    rows = [("ancestral", 4, 4, 0.130, False), ("ancestral", 6, 6, 0.105, True),
            ("ancestral", 20, 20, 0.100, False), ("heun", 6, 11, 0.104, False)]
    assert S.choose(rows) == rows[1]                  # 0.105 <= 1.1 * 0.100, and 6 NFE
    assert S.choose(rows, tolerance=0.0) == rows[2]   # only the best itself
    assert S.choose(rows, tolerance=0.5) == rows[0]
    # Equal cost: the lower error.
    assert S.choose([("a", 6, 6, 0.2, False), ("b", 6, 6, 0.1, False)])[0] == "b"
    text = S.table(rows, rows[1])
    assert "ancestral        6    6   0.1050    1.05x  <- chosen" in text
    assert "chosen: the cheapest within 10 % of the best error (0.1000)" in text


def test_search_scores_candidates_and_the_models_own_sampler_with_the_engine():
    if find_cli() is None:
        pytest.skip("the search samples with the dgmf CLI (cargo build --release)")
    model = REPO / "models" / "burgers_fast.onnx"   # a student: its own sampler is consistency 2
    rows = S.score(model, REPO / "models" / "burgers" / "calib", candidates=(("ancestral", 4),), max_cases=2)
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [("ancestral", 4, 4, False), ("consistency", 2, 2, True)]
    assert all(0 < r[3] < 1 for r in rows)
