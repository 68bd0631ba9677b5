"""``verify_round``: deterministic edge cases of one round, decided by the core rules."""

from __future__ import annotations

import numpy as np
import pytest

import specbound as sb
from specbound.lm.verification import verify_round

V = 4
UNIFORM = np.full(V, 0.25)


def one_hot(i: int) -> np.ndarray:
    out = np.zeros(V)
    out[i] = 1.0
    return out


def stack(*rows: np.ndarray) -> np.ndarray:
    return np.stack(rows)[None]  # (1, k, V)


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_equal_laws_accept_everything_and_add_a_bonus() -> None:
    draft = stack(UNIFORM, UNIFORM)
    target = stack(UNIFORM, UNIFORM, one_hot(3))  # k+1 positions: bonus from the last
    out = verify_round(sb.Speculative(gamma=2), draft, target, np.array([[0, 1]]), rng())
    assert (out.row, out.accepted, out.next_token, out.rejected) == (0, 2, 3, False)


def test_no_bonus_position_means_no_next_token() -> None:
    out = verify_round(sb.Speculative(), stack(UNIFORM), stack(UNIFORM), np.array([[2]]), rng())
    assert (out.accepted, out.next_token, out.rejected) == (1, None, False)


def test_target_zero_rejects_and_recovers_from_the_residual() -> None:
    """q(x) = 0 gives b = 0; the residual [q - p]_+ of a one-hot q is that one-hot."""
    draft = stack(UNIFORM, UNIFORM)
    target = stack(UNIFORM, one_hot(2), UNIFORM)
    out = verify_round(sb.Speculative(gamma=2), draft, target, np.array([[1, 0]]), rng())
    assert (out.accepted, out.next_token, out.rejected) == (1, 2, True)


def test_greedy_laws_accept_iff_draft_is_target_argmax() -> None:
    draft = stack(one_hot(1), one_hot(3))
    target = stack(one_hot(1), one_hot(0), one_hot(2))
    out = verify_round(sb.Speculative(gamma=2), draft, target, np.array([[1, 3]]), rng())
    assert (out.accepted, out.next_token, out.rejected) == (1, 0, True)


def test_over_acceptance_with_large_eps_accepts_everything() -> None:
    draft = stack(one_hot(1))
    target = stack(one_hot(2), UNIFORM)
    algorithm = sb.OverAcceptance(eps=1.0, gamma=1)
    out = verify_round(algorithm, draft, target, np.array([[1]]), rng())
    assert (out.accepted, out.rejected) == (1, False)


def test_batch_round_start_all_refused_counts_once() -> None:
    draft = np.broadcast_to(one_hot(0), (3, 1, V))  # (M, k, V)
    target = np.broadcast_to(one_hot(3), (3, 2, V))
    out = verify_round(
        sb.BatchSpeculative(num_drafts=3, gamma=1), draft, target, np.zeros((3, 1), int), rng()
    )
    assert (out.row, out.accepted, out.next_token, out.rejected) == (0, 0, 3, True)


def test_batch_continues_along_the_winning_draft() -> None:
    """Candidates 0 and 1 are impossible under q; candidate 2 wins, then its second
    token is verified (accepted: q = p there) and a bonus follows from row 2."""
    first = np.array([0.3, 0.3, 0.4, 0.0])
    draft = np.stack([np.stack([first, UNIFORM])] * 3)  # (M, k, V)
    target = np.stack([np.stack([one_hot(2), UNIFORM, one_hot(m)]) for m in range(3)])
    tokens = np.array([[0, 1], [1, 1], [2, 3]])  # (M, k)
    algorithm = sb.BatchSpeculative(num_drafts=3, gamma=2)
    out = verify_round(algorithm, draft, target, tokens, rng())
    assert (out.row, out.accepted, out.next_token, out.rejected) == (2, 2, 2, False)


def test_autoregressive_and_stray_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="nothing to verify"):
        verify_round(sb.Autoregressive(), stack(UNIFORM), stack(UNIFORM), np.array([[0]]), rng())
    two = np.stack([UNIFORM[None], UNIFORM[None]])  # (2, 1, V)
    with pytest.raises(ValueError, match="one draft"):
        verify_round(sb.Speculative(), two, two, np.array([[0], [1]]), rng())


def test_batch_row_stops_at_its_end_of_sequence_token() -> None:
    """Row 2 wins with end-of-sequence token 2 at position 0; its later drafted token 0 is
    impossible under q but must not be verified (nothing after the EOS is output)."""
    first = np.array([0.3, 0.3, 0.4, 0.0])
    draft = np.stack([np.stack([first, UNIFORM])] * 3)  # (M, k, V)
    target = np.stack([np.stack([one_hot(2), one_hot(3), one_hot(3)]) for _ in range(3)])
    tokens = np.array([[0, 1], [1, 1], [2, 0]])  # (M, k)
    algorithm = sb.BatchSpeculative(num_drafts=3, gamma=2)
    out = verify_round(algorithm, draft, target, tokens, rng(), eos_token_id=2)
    assert (out.row, out.accepted, out.next_token, out.rejected) == (2, 1, None, False)
    # without the end-of-sequence id the same round refuses token 0 at position 1
    out = verify_round(algorithm, draft, target, tokens, rng())
    assert (out.row, out.accepted, out.next_token, out.rejected) == (2, 1, 3, True)


def test_sd_round_ends_with_its_accepted_end_of_sequence_token() -> None:
    """SD drafts end-of-sequence token 2 first; q puts all its mass there, so it is
    accepted and the round ends with it (1 accepted, no bonus); the token drafted after it
    is impossible under q but is never verified."""
    first = np.array([0.3, 0.3, 0.4, 0.0])
    draft = np.stack([np.stack([first, UNIFORM])])  # (1, k, V)
    target = np.stack([np.stack([one_hot(2), one_hot(3), one_hot(3)])])  # (1, k+1, V)
    tokens = np.array([[2, 0]])
    out = verify_round(sb.Speculative(gamma=2), draft, target, tokens, rng(), eos_token_id=2)
    assert (out.accepted, out.next_token, out.rejected, out.emitted) == (1, None, False, (2,))
    # without the end-of-sequence id token 0 at position 1 is verified, and refused
    out = verify_round(sb.Speculative(gamma=2), draft, target, tokens, rng())
    assert (out.accepted, out.next_token, out.rejected, out.emitted) == (1, 3, True, (2, 3))
