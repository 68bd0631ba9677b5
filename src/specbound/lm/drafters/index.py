"""The token indexes behind the model-free drafters: pure Python, no model, no torch.

Both indexes hold one growing token sequence (the prompt and every token generated so far:
the decoder only ever appends final tokens) and are updated incrementally as tokens
arrive; both answer "what would continue the sequence now?" with up to ``length`` tokens,
or nothing when the sequence's end has not occurred before.

* :class:`NgramIndex` (prompt lookup): for every n in ``[min_n, max_n]`` a hash map from
  an n-gram to the most recent position where it ended *and was followed by a token*.
  The proposal copies what followed the most recent occurrence of the longest suffix
  that occurred before. Appending a token costs ``O(max_n^2)`` (``max_n`` tuples hashed),
  a proposal ``O(max_n^2 + length)``; memory ``O(L * (max_n - min_n + 1))``.
* :class:`SuffixTrie` (suffix decoding): a trie of every substring of length at most
  ``depth`` with occurrence counts, built by keeping the nodes of the sequence's current
  suffixes (at most ``depth`` of them) and advancing each by the new token. Appending a
  token costs ``O(depth)``, a proposal of k tokens ``O(depth * k)``; memory
  ``O(L * depth)`` nodes in the worst case (far fewer on repetitive text, where nodes
  are shared). The proposal follows, from the deepest node that matches the sequence's
  end and has a continuation, the most frequent continuation (ties: the most recent).
"""

from __future__ import annotations

from collections.abc import Iterable

from specbound.errors import InvalidInputError
from specbound.validate import check_int

__all__ = ["NgramIndex", "SuffixTrie", "check_ngram_range"]


def check_ngram_range(min_n: object, max_n: object) -> tuple[int, int]:
    """``(min_n, max_n)`` as integers with ``1 <= min_n <= max_n``, or a named error."""
    low = check_int(min_n, "ngram_min", low=1)
    high = check_int(max_n, "ngram_max", low=1)
    if low > high:
        raise InvalidInputError(f"ngram_min ({low}) must not exceed ngram_max ({high})")
    return low, high


class NgramIndex:
    """Prompt lookup over a growing sequence (module docstring).

    ``propose(length)`` matches the last n tokens, longest n first (``max_n`` down to
    ``min_n``), against earlier positions and returns the ``length`` tokens that followed
    the most recent earlier occurrence. The copy may overlap the sequence's end (an
    occurrence ``g`` tokens back continues as the sequence itself, repeated with period
    ``g``), so a short repeated pattern is proposed to the full length.
    """

    def __init__(self, min_n: int = 1, max_n: int = 3) -> None:
        self.min_n, self.max_n = check_ngram_range(min_n, max_n)
        self.tokens: list[int] = []
        # n -> (n-gram -> the most recent end position j with a follower at j + 1)
        self._ends: dict[int, dict[tuple[int, ...], int]] = {
            n: {} for n in range(self.min_n, self.max_n + 1)
        }

    def __len__(self) -> int:
        return len(self.tokens)

    def extend(self, tokens: Iterable[int]) -> None:
        """Append ``tokens``; each n-gram that now has a follower is (re-)registered."""
        seq = self.tokens
        for token in tokens:
            seq.append(int(token))
            end = len(seq) - 2  # the position just before the new token now has a follower
            for n, ends in self._ends.items():
                if end + 1 >= n:
                    ends[tuple(seq[end + 1 - n : end + 1])] = end

    def match(self) -> tuple[int, int] | None:
        """``(n, j)``: the longest matched suffix length and the end of its most recent
        earlier occurrence, or None when no suffix of length >= ``min_n`` occurred before."""
        seq = self.tokens
        for n in range(min(self.max_n, len(seq) - 1), self.min_n - 1, -1):
            end = self._ends[n].get(tuple(seq[len(seq) - n :]))
            if end is not None:
                return n, end
        return None

    def propose(self, length: int) -> list[int]:
        """Up to ``length`` tokens continuing the sequence ([] when nothing matches)."""
        found = self.match()
        if found is None or length < 1:
            return []
        seq, size = self.tokens, len(self.tokens)
        out: list[int] = []
        for i in range(length):
            at = found[1] + 1 + i  # < size + i: an overlapping copy reads what it wrote
            out.append(seq[at] if at < size else out[at - size])
        return out


class _Node:
    """A trie node: the substring spelled by the path from the root."""

    __slots__ = ("children", "count", "last")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.count = 0  # occurrences of the substring
        self.last = -1  # end position of its most recent occurrence


class SuffixTrie:
    """Suffix decoding over a growing sequence (module docstring).

    ``depth`` bounds the substrings stored (and so the longest match, ``depth - 1``
    tokens followed by one continuation token); ``min_match`` is the shortest suffix of the
    sequence that may be matched.
    """

    def __init__(self, depth: int = 16, min_match: int = 1) -> None:
        self.depth = check_int(depth, "suffix_depth", low=2)
        self.min_match = check_int(min_match, "ngram_min", low=1)
        if self.min_match >= self.depth:
            raise InvalidInputError(
                f"ngram_min ({self.min_match}) must be below suffix_depth ({self.depth})"
            )
        self.root = _Node()
        self.size = 0
        self.nodes = 1
        # the nodes of the sequence's suffixes of length 0..depth-1, shortest first
        self._active: list[_Node] = [self.root]

    def __len__(self) -> int:
        return self.size

    def extend(self, tokens: Iterable[int]) -> None:
        """Append ``tokens``: every suffix node of length < ``depth`` gains the token."""
        for token in tokens:
            token = int(token)
            advanced = [self.root]
            for node in self._active:
                child = node.children.get(token)
                if child is None:
                    child = node.children[token] = _Node()
                    self.nodes += 1
                child.count += 1
                child.last = self.size
                advanced.append(child)
            self.size += 1
            self._active = advanced[: self.depth]  # lengths 0..depth-1

    def _best(self, matched: list[_Node]) -> _Node | None:
        """The deepest matched node (suffix length >= ``min_match``) with a continuation."""
        for depth in range(len(matched) - 1, self.min_match - 1, -1):
            if matched[depth].children:
                return matched[depth]
        return None

    def propose(self, length: int) -> list[int]:
        """Up to ``length`` tokens, each the most frequent continuation (ties: the most
        recent) of the longest matched suffix of the sequence and what was proposed so
        far; [] when nothing of length >= ``min_match`` matches."""
        matched = list(self._active)  # matched[d]: the node of the suffix of length d
        out: list[int] = []
        while len(out) < length:
            node = self._best(matched)
            if node is None:
                break
            token, _ = max(node.children.items(), key=lambda kv: (kv[1].count, kv[1].last))
            out.append(token)
            advanced = [self.root]
            for prior in matched:
                child = prior.children.get(token)
                if child is None:
                    break  # longer suffixes cannot match if this one does not
                advanced.append(child)
            matched = advanced[: self.depth]
        return out
