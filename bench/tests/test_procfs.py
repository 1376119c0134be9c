"""The process tree the sampler walks."""

from __future__ import annotations

from bench.procfs import descendants


def test_descendants_walk_the_whole_tree() -> None:
    parents = {10: 1, 11: 10, 12: 11, 13: 10, 20: 1}
    assert sorted(descendants(10, parents)) == [10, 11, 12, 13]
