"""Exercise 11: co-occurrence counts, PPMI and a truncated SVD on grading-time inputs, checked against their
definitions and numpy's SVD; the SVD vectors of the training reviews, judged by the grader's own logistic
regression on the test reviews; the side-by-side plot, graded as objects (texts at their points)."""

import numpy as np
import pytest

from embedlab.grading import contract
from embedlab.vocabulary import INFORMATIVE_TERMS

pytestmark = pytest.mark.exercise("ex11_svd_embeddings")

TOLERANCE = 1e-6


def _judge():
    return contract.collector("ex11_svd_embeddings")


def _questions(collected, *keys):
    missing = [key for key in keys if key not in collected.questions]
    if missing:
        pytest.fail(f"{collected.where()}: the grader's questions did not reach this test", pytrace=False)
    return [collected.questions[key] for key in keys]


def _band_counts(reviews, vocabulary, contexts, window) -> np.ndarray:
    """The counts as a matrix product per review: one-hot rows, times the band |p - q| in 1..window, times
    one-hot columns (a term outside the vocabulary or the contexts has an all-zero one-hot row)."""
    total = np.zeros((len(vocabulary), len(contexts)))
    for review in reviews:
        rows = np.array([[term == other for other in vocabulary] for term in review], dtype=float)
        columns = np.array([[term == other for other in contexts] for term in review], dtype=float)
        rows, columns = rows.reshape(-1, len(vocabulary)), columns.reshape(-1, len(contexts))
        distance = np.abs(np.subtract.outer(np.arange(len(review)), np.arange(len(review))))
        total += rows.T @ ((distance >= 1) & (distance <= window)).astype(float) @ columns
    return total


@pytest.mark.points(1)
def test_cooccurrence_counts_pairs_within_the_window(collected):
    """cooccurrence_matrix counts each pair of positions at most `window` apart, both ways"""
    got = collected.need("cooccurrence", "cooccurrence_matrix", kind=np.ndarray)
    reviews, vocabulary, contexts, window = _questions(collected, "reviews", "vocabulary", "contexts", "window")
    expected = _band_counts(reviews, vocabulary, contexts, window)
    call = (f"cooccurrence_matrix({len(reviews)} reviews, {len(vocabulary)} terms, {len(contexts)} contexts, "
            f"window={window})")
    collected.check(got.shape == expected.shape, f"{call} has shape {got.shape}; expected {expected.shape}.")
    wrong = np.argwhere(np.abs(got - expected) > TOLERANCE)
    if len(wrong):
        i, j = wrong[0]
        collected.check(False, (
            f"{call}: [{vocabulary[i]!r}, {contexts[j]!r}] is {got[i, j]:g}; counting every pair of positions "
            f"1 to {window} apart in the same review (both ways) gives {expected[i, j]:g}."))


@pytest.mark.points(2)
def test_ppmi_matches_its_definition(collected):
    """ppmi is max(0, log(p(i, j) / (p(i) p(j)))), 0 where a count is 0, on grading-time count matrices"""
    got = collected.need("ppmi", "ppmi", kind=list)
    (counts,) = _questions(collected, "counts")
    for number, (answer, matrix) in enumerate(zip(got, counts)):
        matrix = np.asarray(matrix)
        expected = _judge().ppmi_by_definition(matrix)
        where = f"ppmi(counts) of grading-time count matrix {number + 1} ({matrix.shape[0]} x {matrix.shape[1]})"
        collected.check(answer.shape == expected.shape,
                        f"{where} has shape {answer.shape}; expected {expected.shape}.")
        collected.check(not (answer[matrix == 0] != 0).any(), (
            f"{where} is not 0 where the count is 0 (including its all-zero row and column): a pair never seen "
            "has no positive PMI."))
        collected.check((answer >= 0).all(), f"{where} has negative values: PPMI keeps max(0, pmi).")
        wrong = np.argwhere(np.abs(answer - expected) > 1e-6)
        if len(wrong):
            i, j = wrong[0]
            collected.check(False, (
                f"{where}: entry [{i}, {j}] (count {matrix[i, j]:g}) is {answer[i, j]:.6f}; max(0, log(count * N / "
                f"(row sum * column sum))) is {expected[i, j]:.6f}."))


def _reference(matrix: np.ndarray, k: int):
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    return u[:, :k], s[:k], vt[:k]


@pytest.mark.points(2)
def test_truncated_svd_matches_numpy(collected):
    """truncated_svd gives the k largest singular values, descending, and their orthonormal vectors (up to sign)"""
    parts = [collected.need(key, "truncated_svd", kind=list) for key in ("svd_u", "svd_s", "svd_vt")]
    matrices, ranks = _questions(collected, "matrices", "ranks")
    for u, s, vt, matrix, k in zip(*parts, matrices, ranks):
        matrix = np.asarray(matrix)
        call = f"truncated_svd(a grading-time {matrix.shape[0]} x {matrix.shape[1]} matrix, k={k})"
        ref_u, ref_s, ref_vt = _reference(matrix, k)
        shapes = (np.shape(u), np.shape(s), np.shape(vt))
        collected.check(shapes == (ref_u.shape, ref_s.shape, ref_vt.shape),
                        f"{call} returned shapes {shapes}; expected {(ref_u.shape, ref_s.shape, ref_vt.shape)}.")
        collected.check(np.allclose(s, ref_s, atol=TOLERANCE), (
            f"{call} gave the singular values {np.round(s, 4).tolist()}; numpy's k largest, in descending order, are "
            f"{np.round(ref_s, 4).tolist()}."))
        collected.check(np.allclose(u.T @ u, np.eye(k), atol=1e-6), f"{call}: the columns of U_k are not orthonormal.")
        agree = np.abs(np.sum(u * ref_u, axis=0))
        collected.check(np.allclose(agree, 1.0, atol=1e-6), (
            f"{call}: column {int(np.argmin(agree)) + 1} of U_k is not numpy's singular vector (or minus it): "
            f"|u . u_ref| = {agree.min():.4f}."))
        collected.check(np.allclose((u * s) @ vt, (ref_u * ref_s) @ ref_vt, atol=1e-6), (
            f"{call}: U_k @ diag(S_k) @ Vt_k is not the best rank-{k} approximation numpy's SVD gives (Vt_k must "
            "hold the matching right singular vectors, as rows)."))
    raised = collected.need("bad_k", "truncated_svd(bad k)")
    collected.check(raised == "ValueError",
                    f"truncated_svd(matrix, k=min(matrix.shape) + 1) raised {raised}; expected ValueError.")


@pytest.mark.points(1)
def test_svd_embedding_scales_by_the_root_of_the_singular_values(collected):
    """svd_embedding gives U_k * sqrt(S_k), up to the sign of each column"""
    got = collected.need("embedding_small", "svd_embedding", kind=list)
    matrices, ranks = _questions(collected, "matrices", "ranks")
    for answer, matrix, k in zip(got, matrices, ranks):
        matrix = np.asarray(matrix)
        ref_u, ref_s, _ = _reference(matrix, k)
        expected = ref_u * np.sqrt(ref_s)
        call = f"svd_embedding(a grading-time {matrix.shape[0]} x {matrix.shape[1]} matrix, k={k})"
        collected.check(answer.shape == expected.shape, f"{call} has shape {answer.shape}; expected {expected.shape}.")
        signs = np.where(np.sum(answer * expected, axis=0) < 0, -1.0, 1.0)
        norms = np.linalg.norm(answer, axis=0)
        collected.check(np.allclose(answer * signs, expected, atol=1e-6), (
            f"{call}: the columns have lengths {np.round(norms, 4).tolist()}; U_k * sqrt(S_k) has "
            f"{np.round(np.sqrt(ref_s), 4).tolist()} (each column of U_k has length 1)."))


@pytest.mark.points(2)
def test_svd_vectors_classify_the_reviews(collected):
    """a logistic regression on the reviews' mean 16-d SVD vectors reaches the calibrated test accuracy"""
    collected.judge_mark(
        "svd_accuracy", "the grader's logistic regression on each review's mean 16-d SVD vector (fitted on the "
        "training reviews), accuracy on the 25,000 test reviews",
        "With raw counts instead of PPMI the first axes are frequency, not meaning: check ppmi.")


def _panel_matches(texts, matrix) -> tuple[bool, str]:
    """Whether the texts are the 50 terms, each at its row of `matrix`; else what differs."""
    names = sorted(text for text, _, _ in texts)
    if names != sorted(INFORMATIVE_TERMS):
        return False, f"{len(texts)} texts ({[t for t, _, _ in texts][:4]}...), not the 50 terms once each"
    for text, x, y in texts:
        row = matrix[INFORMATIVE_TERMS.index(text)]
        if not np.allclose([x, y], row, atol=1e-5):
            return False, f"'{text}' at ({x:.4f}, {y:.4f}), its row being ({row[0]:.4f}, {row[1]:.4f})"
    return True, ""


@pytest.mark.points(2)
def test_side_by_side_plot_draws_both_embeddings(collected):
    """two Axes, one text per term at its SVD point in the first and its learned point in the second; the title"""
    figure = collected.need("figure", "plot_side_by_side")
    svd_points, learned_points, title = _questions(collected, "svd_points", "learned_points", "title")
    collected.check(figure.get("is_figure"), f"plot_side_by_side returned a {figure.get('type')}; expected a "
                                             "matplotlib Figure.")
    panels = figure.get("panels", [])
    collected.check(len(panels) == 2, f"the figure has {len(panels)} Axes; expected two, side by side.")
    for panel, matrix, name in zip(panels, (svd_points, learned_points), ("first", "second")):
        ok, why = _panel_matches(panel["texts"], np.asarray(matrix))
        collected.check(ok, f"the {name} Axes holds {why}: it should draw each term at its row of "
                            f"{'svd_matrix' if name == 'first' else 'learned_matrix'}.")
    collected.check(title in figure.get("titles", []) or title in [panel["title"] for panel in panels], (
        f"plot_side_by_side(..., title={title!r}) drew the titles {figure.get('titles', [])}; expected that title "
        "(figure.suptitle(title))."))
    raised = collected.need("mismatch", "plot_side_by_side(mismatch)")
    collected.check(raised == "ValueError",
                    f"plot_side_by_side with a (10, 2) svd_matrix for 50 terms raised {raised}; expected ValueError.")
