"""The model-free indexes against brute-force references written here (hypothesis).

Prompt lookup: the longest suffix of length ``max_n .. min_n`` that occurred earlier with
a follower; copy what followed its most recent occurrence (the copy may overlap the end).
Suffix decoding: at each step the longest suffix (``min_match .. depth - 1`` tokens) of the
sequence plus what was proposed that occurs in the *indexed* sequence with a follower;
propose the follower seen most often after it (ties: the most recent one).
Both indexes are fed in random chunks, so incremental updates are checked too.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from specbound.lm.drafters import NgramIndex, SuffixTrie

SEQUENCES = st.lists(st.integers(0, 3), min_size=0, max_size=40)


def lookup_reference(seq: list[int], min_n: int, max_n: int, length: int) -> list[int]:
    for n in range(max_n, min_n - 1, -1):
        if len(seq) < n + 1:
            continue
        suffix = seq[len(seq) - n :]
        ends = [j for j in range(n - 1, len(seq) - 1) if seq[j - n + 1 : j + 1] == suffix]
        if ends:
            ext = list(seq)
            start = max(ends) + 1
            for i in range(length):
                ext.append(ext[start + i])
            return ext[len(seq) :]
    return []


def suffix_reference(seq: list[int], depth: int, min_match: int, length: int) -> list[int]:
    ext = list(seq)
    for _ in range(length):
        chosen = None
        for m in range(min(depth - 1, len(ext)), min_match - 1, -1):
            suffix = ext[len(ext) - m :]
            followers: dict[int, tuple[int, int]] = {}
            for j in range(m - 1, len(seq) - 1):
                if seq[j - m + 1 : j + 1] == suffix:
                    count, _ = followers.get(seq[j + 1], (0, -1))
                    followers[seq[j + 1]] = (count + 1, j + 1)
            if followers:
                chosen = max(followers, key=lambda y: followers[y])
                break
        if chosen is None:
            break
        ext.append(chosen)
    return ext[len(seq) :]


def chunks(seq: list[int], cuts: list[int]) -> list[list[int]]:
    bounds = sorted({0, len(seq), *(c % (len(seq) + 1) for c in cuts)})
    return [seq[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None)
@given(
    SEQUENCES,
    st.lists(st.integers(0, 40), max_size=4),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(1, 6),
)
def test_lookup_matches_the_reference(seq, cuts, min_n, extra, length) -> None:  # type: ignore[no-untyped-def]
    index = NgramIndex(min_n, min_n + extra)
    for part in chunks(seq, cuts):
        index.extend(part)
    assert index.propose(length) == lookup_reference(seq, min_n, min_n + extra, length)


@settings(max_examples=300, deadline=None)
@given(
    SEQUENCES,
    st.lists(st.integers(0, 40), max_size=4),
    st.integers(2, 6),
    st.integers(1, 3),
    st.integers(1, 6),
)
def test_suffix_matches_the_reference(seq, cuts, depth, min_match, length) -> None:  # type: ignore[no-untyped-def]
    if min_match >= depth:
        return
    trie = SuffixTrie(depth, min_match)
    for part in chunks(seq, cuts):
        trie.extend(part)
    assert trie.propose(length) == suffix_reference(seq, depth, min_match, length)
