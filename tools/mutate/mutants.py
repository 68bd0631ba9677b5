# ruff: noqa: E501
"""The mutants: (id, file under src/specbound, exact original snippet, replacement, what it
breaks, the test files that should kill it, and, for an equivalent mutant, why)."""

from __future__ import annotations

from dataclasses import dataclass

CORE = [
    "tests/core/test_core_pinned.py",
    "tests/core/test_core_edges.py",
    "tests/core/test_core_exact.py",
    "tests/core/test_core_statistical.py",
    "tests/chain/test_chain_round_law.py",
]
LM_ROUND = ["tests/lm/test_lm_verification.py", "tests/lm/test_lm_round_law.py"]
SIM = ["tests/chain/test_chain_round_law.py", "tests/chain/test_chain_simulate.py"]
REF = ["tests/chain/test_chain_round_law.py::test_reference_decode_law_after_a_batch_round_start"]
ROUNDS = ["tests/core/test_core_rounds.py", "tests/lm_profile/test_profile_rounds.py"]
BLOCK = ["tests/core/test_core_pinned.py", "tests/core/test_core_block.py"]
FIRST = ["tests/lm/test_lm_first_round.py"]
TRAVERSAL_LM = "tests/lm/test_lm_tree_traversal.py::test_traversal_round_follows_its_exact_law"


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    original: str
    replacement: str
    description: str
    tests: tuple[str, ...]
    equivalent: str = ""


def _m(id, file, original, replacement, description, tests, equivalent=""):  # type: ignore[no-untyped-def]
    return Mutant(id, file, original, replacement, description, tuple(tests), equivalent)


MUTANTS = [
    # ---- the six named bugs -----------------------------------------------------
    _m(
        "ref-wrong-draft",
        "chain/reference.py",
        "block = blocks[int(winner)]",
        "block = blocks[0]",
        "chain reference follows draft 0, not the winner, after a batch round start",
        REF,
    ),
    _m(
        "draft-temperature",
        "lm/drafting.py",
        "return warp_probs(logits, self.sampling)",
        "return warp_probs(logits, type(self.sampling)(self.sampling.temperature * 1.2, "
        "self.sampling.top_k, self.sampling.top_p))",
        "draft warped at 1.2 x the target's temperature",
        FIRST,
    ),
    _m(
        "float32-uniforms",
        "core/sampling.py",
        "return rng.random(shape, dtype=np.float64)",
        "return rng.random(shape, dtype=np.float32).astype(np.float64)",
        "uniforms drawn in float32",
        CORE,
    ),
    _m(
        "accept-le",
        "core/rules.py",
        "    return uniforms(rng, b.shape) < b",
        "    return uniforms(rng, b.shape) <= b",
        "accept_drafted: u <= b for u < b",
        CORE,
    ),
    _m(
        "accept-x0.98",
        "core/rules.py",
        "return kernels.ratio_accept(kernels.gather(target, tokens), kernels.gather(draft, tokens))",
        "return 0.98 * kernels.ratio_accept(kernels.gather(target, tokens), kernels.gather(draft, tokens))",
        "SD acceptance at the drafted tokens (what the decoders read) scaled by 0.98",
        LM_ROUND,
    ),
    _m(
        "accept-table-x0.98",
        "core/rules.py",
        "return kernels.ratio_accept(target, draft)",
        "return 0.98 * kernels.ratio_accept(target, draft)",
        "SD acceptance table (theory, chain simulator) scaled by 0.98",
        CORE,
    ),
    _m(
        "residual-0.9",
        "core/kernels.py",
        "return normalised_positive_part(target - draft, target)",
        "return normalised_positive_part(target - 0.9 * draft, target)",
        "SD residual built from 0.9 x the draft",
        LM_ROUND,
    ),
    # ---- core/kernels.py ----------------------------------------------------------------
    _m(
        "tv-flipped",
        "core/kernels.py",
        "xp.maximum(target - draft, 0.0), axis=-1)  # (...,)",
        "xp.maximum(draft - target, 0.0), axis=-1)  # (...,)",
        "TV as sum [p - q]_+",
        CORE,
        "sum [q - p]_+ = sum [p - q]_+ for two distributions (both sum to 1); differs only by rounding",
    ),
    _m(
        "unnormalised",
        "core/kernels.py",
        "return xp.where(empty, fallback, positive / safe_mass)",
        "return xp.where(empty, fallback, positive)",
        "residuals not normalised",
        CORE,
    ),
    _m(
        "b-one-off-support",
        "core/kernels.py",
        "return xp.where(positive, xp.minimum(ratio, 1.0), xp.zeros_like(ratio))",
        "return xp.where(positive, xp.minimum(ratio, 1.0), xp.ones_like(ratio))",
        "b = 1 where p = 0",
        CORE,
    ),
    _m(
        "no-clip",
        "core/kernels.py",
        "xp.minimum(ratio, 1.0), xp.zeros_like(ratio))",
        "ratio, xp.zeros_like(ratio))",
        "b = q/p not capped at 1",
        CORE,
    ),
    _m(
        "rejection-no-p",
        "core/kernels.py",
        "xp.sum(draft * (1.0 - accept), axis=-1)",
        "xp.sum((1.0 - accept), axis=-1)",
        "r(b) = sum (1 - b)",
        CORE,
    ),
    _m(
        "pstar-ignores-b",
        "core/kernels.py",
        "return normalised_positive_part(target - draft * accept, target)",
        "return normalised_positive_part(target - draft, target)",
        "P* = [q - p]_+ for any b",
        CORE,
    ),
    _m(
        "min-bias-flipped",
        "core/kernels.py",
        "xp.maximum(draft * accept - target, 0.0)",
        "xp.maximum(target - draft * accept, 0.0)",
        "Theorem 4's value as sum [q - p b]_+",
        CORE,
    ),
    # ---- core/rules.py ------------------------------------------------------------------
    _m(
        "eps-halved",
        "core/rules.py",
        "return kernels.ratio_accept(target + self.eps, draft)",
        "return kernels.ratio_accept(target + self.eps / 2, draft)",
        "OPT/UNO with eps / 2",
        CORE,
    ),
    _m(
        "uno-residual",
        "core/rules.py",
        "            return kernels.optimal_resampling_rows(draft, target, accept)\n        return target",
        "            return kernels.optimal_resampling_rows(draft, target, accept)\n        return kernels.residual_rows(draft, target)",
        "UNO resamples SD's residual instead of q",
        CORE,
    ),
    _m(
        "split-accepted-b",
        "core/rules.py",
        "return SplitLaw(reject, draft * accept, rejected)",
        "return SplitLaw(reject, accept, rejected)",
        "split: accepted part b instead of p b",
        CORE,
    ),
    _m(
        "verify-rows-le",
        "core/rules.py",
        "ok = uniforms(rng, rows.shape) < accept[rows, drafted]",
        "ok = uniforms(rng, rows.shape) <= accept[rows, drafted]",
        "verify_rows: u <= b",
        CORE,
    ),
    _m(
        "verify-rows-recover-q",
        "core/rules.py",
        "tokens.flat[bad] = sample_rows(recovery, rows.flat[bad], rng)",
        "tokens.flat[bad] = sample_rows(target_table, rows.flat[bad], rng)",
        "verify_rows recovers from q",
        CORE,
    ),
    # ---- core/batch.py ------------------------------------------------------------------
    _m(
        "no-recursion",
        "core/batch.py",
        "following = kernels.residual_rows(draft, residuals[-1])",
        "following = kernels.residual_rows(draft, target)",
        "r_{m+1} from q, not r_m",
        CORE,
    ),
    _m(
        "batch-verify-le",
        "core/batch.py",
        "recovered = sample_categorical(residuals[..., -1, :], rng)  # (...,)\n        return _first_accepted(u < b,",
        "recovered = sample_categorical(residuals[..., -1, :], rng)  # (...,)\n        return _first_accepted(u <= b,",
        "recursive rejection verify: u <= b",
        CORE,
    ),
    _m(
        "batch-rows-le",
        "core/batch.py",
        "recovered = sample_rows(residuals[:, -1, :], rows, rng)  # (...,)\n        return _first_accepted(u < b,",
        "recovered = sample_rows(residuals[:, -1, :], rows, rng)  # (...,)\n        return _first_accepted(u <= b,",
        "recursive rejection verify_rows: u <= b",
        CORE,
    ),
    _m(
        "batch-vs-target",
        "core/batch.py",
        "accept = kernels.ratio_accept(residuals[..., :-1, :], draft[..., None, :])  # (..., M, V)",
        "accept = kernels.ratio_accept(target[..., None, :], draft[..., None, :])  # (..., M, V)",
        "every candidate verified against q",
        CORE,
    ),
    _m(
        "batch-last-accepted",
        "core/batch.py",
        "first = np.argmax(accepted, axis=-1)  # (...,)",
        "first = accepted.shape[-1] - 1 - np.argmax(accepted[..., ::-1], axis=-1)",
        "the last accepted candidate wins",
        CORE,
    ),
    _m(
        "all-rejected-shift",
        "core/batch.py",
        "tv = kernels.tv_rows(draft, residual)  # (...,)",
        "tv = kernels.tv_rows(draft, kernels.residual_rows(draft, residual))  # (...,)",
        "prod TV over r_2..r_{M+1}",
        CORE,
    ),
    # ---- core/sampling.py ---------------------------------------------------------------
    _m(
        "categorical-lt",
        "core/kernels.py",
        "xp.sum(xp.astype(cdf <= level[..., None], xp.int64), axis=-1)",
        "xp.sum(xp.astype(cdf < level[..., None], xp.int64), axis=-1)",
        "inverse CDF with cdf < u",
        CORE,
    ),
    _m(
        "categorical-left",
        "core/kernels.py",
        'found = xp.searchsorted(row, xp.reshape(level, (-1,)), side="right")  # (n,)',
        'found = xp.searchsorted(row, xp.reshape(level, (-1,)), side="left")  # (n,)',
        "inverse CDF of one row by binary search counting cdf < u",
        CORE,
    ),
    _m(
        "rows-lt",
        "core/sampling.py",
        "idx += column[rows] <= u",
        "idx += column[rows] < u",
        "sample_rows (V <= 32) with cdf < u",
        CORE,
    ),
    # ---- core/block.py ------------------------------------------------------------------
    _m(
        "block-le",
        "core/block.py",
        "kept = uniforms(rng, heights.shape) < heights",
        "kept = uniforms(rng, heights.shape) <= heights",
        "block verification: eta <= h",
        BLOCK,
    ),
    _m(
        "block-hk-one",
        "core/block.py",
        "heights.append(weights[..., k])  # h_k = w_k",
        "heights.append(xp.ones_like(weights[..., k]))",
        "h_k = 1",
        BLOCK,
    ),
    _m(
        "block-recovery",
        "core/block.py",
        "w[..., None] * q_next - p_next, q_next)",
        "q_next - p_next, q_next)",
        "recovery [q - p]_+ without the weight",
        BLOCK,
    ),
    # ---- core/rounds.py -----------------------------------------------------------------
    _m(
        "given-output-no-p",
        "core/rounds.py",
        "accepted_mass = draft * rule.accept_probs(draft, target)",
        "accepted_mass = rule.accept_probs(draft, target)",
        "P(accepted | x) without p",
        ROUNDS,
    ),
    _m(
        "bonus-not-restart",
        "core/rounds.py",
        "nxt[..., 0] = refused.sum(axis=-1) + state[..., depth]",
        "nxt[..., 0] = refused.sum(axis=-1)",
        "after a bonus no new round",
        ROUNDS,
    ),
    # ---- chain/simulator.py -------------------------------------------------------------
    _m(
        "sim-start-rejections",
        "chain/simulator.py",
        "        token[idx] = chosen\n        rejected[idx] = winner < 0",
        "        token[idx] = chosen\n        rejected[idx] = winner < -1",
        "batch round-start rejections not counted",
        SIM,
    ),
    _m(
        "sim-every-start",
        "chain/simulator.py",
        "self.phase = (~rejected).astype(np.int64)",
        "self.phase = np.zeros_like(self.phase)",
        "every position starts a round",
        SIM,
    ),
    _m(
        "sim-draft-calls",
        "chain/simulator.py",
        "self.draft_calls += starting * draft_length(self.algorithm, self.draft.horizon, n)\n        drafting",
        "self.draft_calls += starting\n        drafting",
        "one draft call per round",
        SIM,
    ),
    _m(
        "sim-draft-from-q",
        "chain/simulator.py",
        "drafted = sample_rows(p, rows, self.rng)  # (k,)",
        "drafted = sample_rows(q, rows, self.rng)  # (k,)",
        "drafts drawn from the target",
        SIM,
    ),
    _m(
        "sim-candidates-from-q",
        "chain/simulator.py",
        "candidates = sample_rows(p, np.repeat(",
        "candidates = sample_rows(q, np.repeat(",
        "batch candidates drawn from the target",
        SIM,
    ),
    _m(
        "sim-bonus-from-p",
        "chain/simulator.py",
        "token[idx] = sample_rows(q, self.state[idx], self.rng)",
        "token[idx] = sample_rows(p, self.state[idx], self.rng)",
        "bonus token from the draft",
        SIM,
    ),
    # ---- chain/reference.py -------------------------------------------------------------
    _m(
        "ref-recover-q",
        "chain/reference.py",
        "            token = block[0] if accepted else rule.sample_recovered(p, q, rng)\n        out: list[int] = []",
        "            token = block[0] if accepted else sample_categorical(q, rng)\n        out: list[int] = []",
        "reference recovers from q at a round start",
        ["tests/chain/test_chain_statistical.py::test_block_drafting_reference_agrees"],
    ),
    # ---- core/sequence.py and core/families (one round's verification) ------------------
    _m(
        "lm-eos-off-by-one",
        "core/sequence.py",
        "limit = xp.where(stopped, first_stop + 1, limit)",
        "limit = xp.where(stopped, first_stop, limit)",
        "round ends before its EOS token",
        LM_ROUND,
    ),
    _m(
        "lm-bonus-row0",
        "core/families/multidraft.py",
        "target[row, 1:scored],  # (k-1 or k, V)",
        "target[0, 1:scored],  # (k-1 or k, V)",
        "bonus from row 0, not the winner's",
        LM_ROUND,
    ),
    _m(
        "lm-recover-q",
        "core/sequence.py",
        "law = rule.resample_law(draft_row, target_row)  # (V,)",
        "law = rule.resample_law(target_row, target_row)  # (V,)",
        "recovered token from q (residual of q against itself)",
        LM_ROUND,
    ),
    _m(
        "lm-last-refusal",
        "core/sequence.py",
        "at = xp.where(rejected, xp.argmax(xp.astype(refused, xp.int8)), limit)",
        "at = xp.where(rejected, (k - 1) - xp.argmax(xp.flip(xp.astype(refused, xp.int8))), limit)",
        "the round ends at the last refusal",
        LM_ROUND,
    ),
    _m(
        "lm-reverify-start",
        "core/families/multidraft.py",
        "u = uniforms(rng, (k,))  # (k - 1 + 1,) the rest of the row and one draw\n        verdict = verify_sequence(\n            self.step_rule,\n            draft[row, 1:k],  # (k-1, V)\n            target[row, 1:scored],  # (k-1 or k, V)\n            drafts[row, 1:k],  # (k-1,)\n            u,\n        )\n        accepted = 1 + int(verdict.accepted)",
        "u = uniforms(rng, (k + 1,))\n        verdict = verify_sequence(\n            self.step_rule,\n            draft[row, 0:k],\n            target[row, 0:scored],\n            drafts[row, 0:k],\n            u,\n        )\n        accepted = int(verdict.accepted)",
        "batch: the winning token verified again with SD",
        LM_ROUND,
    ),
    # ---- core/families: the family each backend asks ------------------------------------
    _m(
        "family-block-as-ar",
        "core/families/block.py",
        "return shapes.block_rounds(self.block_rule)",
        "return shapes.no_draft()",
        "block verification interpreted as autoregressive decoding by every chain backend",
        ["tests/chain/test_chain_exact.py"],
    ),
    _m(
        "family-draft-length",
        "core/families/base.py",
        "return left.copy() if gamma is None else np.minimum(gamma, left)",
        "return left.copy() if gamma is None else np.minimum(gamma + 1, left)",
        "rounds draft one token more than gamma",
        ["tests/chain/test_chain_exact.py"],
    ),
    _m(
        "family-one-sequence",
        "core/families/multidraft.py",
        "return int(self.start_rule.num_drafts)",
        "return 1",
        "a multi-draft family asks for one draft sequence",
        ["tests/house/test_families.py", "tests/lm/test_lm_generate.py"],
    ),
    _m(
        "family-start-dropped",
        "core/families/multidraft.py",
        "return shapes.token_rounds(self.step_rule, self.start_rule)",
        "return shapes.token_rounds(self.step_rule, None)",
        "batch SD's round start interpreted as SD's by the chain backends",
        ["tests/chain/test_chain_exact.py"],
    ),
    # ---- token trees ---------------------------------------------------------------------
    _m(
        "tree-children-from-q",
        "chain/simulator.py",
        "drawn = sample_rows(p, np.repeat(rows[:, None], children, axis=1), self.rng)",
        "drawn = sample_rows(q, np.repeat(rows[:, None], children, axis=1), self.rng)",
        "a tree's children drawn from the target in the simulator",
        ["tests/chain/test_chain_tree.py"],
    ),
    _m(
        "tree-bonus-no-restart",
        "chain/recursion.py",
        "    restart = apply(mass[depth], target)\n",
        "    restart = 0.0 * apply(mass[depth], target)\n",
        "the exact tree theory loses the mass of bonus positions",
        ["tests/chain/test_chain_tree.py"],
    ),
    _m(
        "wr-no-removal",
        "core/without_replacement.py",
        "                law[idx] = _without(law[idx], x[idx])",
        "                law[idx] = law[idx]",
        "without replacement: a refused child stays in the draft law the next is tried against",
        ["tests/chain/test_chain_tree.py"],
    ),
    # ---- token trees on language models ------------------------------------------------
    _m(
        "lm-tree-mask-siblings",
        "lm/tree_mask.py",
        "        visible[row, root : root + slot + 1] = ancestors[slot, : slot + 1]",
        "        visible[row, root : root + slot + 1] = True",
        "tree attention lets a node see every earlier node (siblings and cousins too)",
        ["tests/lm/test_lm_tree_mask.py"],
    ),
    _m(
        "lm-tree-keeps-first-slots",
        "lm/tree_round.py",
        "        target.keep_slots(base, [base - 1 + slot for slot in path])",
        "        target.crop(base + len(path))",
        "the target cache keeps the first nodes of the tree, not the accepted path",
        ["tests/lm/test_lm_tree_decode.py::test_tree_output_law_is_the_target_law[tree-2-2]"],
    ),
    _m(
        "lm-tree-wr-no-removal",
        "lm/tree_round.py",
        "            left[rows[alive], drawn[alive]] = 0.0",
        "            left[rows[alive], drawn[alive]] = left[rows[alive], drawn[alive]]",
        "children drawn without replacement are drawn i.i.d. (the rule removes them anyway)",
        ["tests/lm/test_lm_tree_mask.py"],
    ),
    _m(
        "lm-traversal-preorder-as-slot",
        "core/families/traversal.py",
        "        slot = int(order[int(outcome.node[0])])",
        "        slot = int(outcome.node[0])",
        "traversal on LMs: the kept node's pre-order index read as its slot (a wrong path)",
        [TRAVERSAL_LM],
    ),
    _m(
        "traversal-accept-x0.98",
        "core/traversal.py",
        "            accept = live & (draws[:, node - 1] < weight[:, node])",
        "            accept = live & (draws[:, node - 1] < 0.98 * weight[:, node])",
        "traversal verification keeps a node with 0.98 x its weight",
        [TRAVERSAL_LM],
    ),
    _m(
        "lm-target-loses-topk",
        "lm/decode.py",
        "    return kernel_array(warp_probs(logits, sampling))  # (M, k or k+1, V) float64",
        "    return kernel_array(warp_probs(logits, SamplingConfig(temperature=sampling.temperature)))",
        "the scoring call warps the target without its top-k / top-p",
        ["tests/lm/test_lm_exactness.py::test_output_law_is_target_law[sd-topk3]"],
    ),
]
