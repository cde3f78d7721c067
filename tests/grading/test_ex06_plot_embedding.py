"""Exercise 6: the plot, graded as objects (texts and the points they mark, limits, title), and the learned
geometry. How the labels look (markers, fonts, where beside its point a label is drawn) is not graded."""

import numpy as np
import pytest

from embedlab.grading import contract, scoring
from embedlab.vocabulary import INFORMATIVE_TERMS, NEGATIVE_TERMS, POSITIVE_TERMS

pytestmark = pytest.mark.exercise("ex06_plot_embedding")

# Fraction of the 14 clearly positive and negative terms that one straight
# line must separate in a trained 2-D embedding. See docs/calibration.md.
GEOMETRY_PASS_MARK = 1.0


def _figure(collected):
    figure = collected.need("figure", "plot_embedding")
    collected.check(figure["is_figure"], (
        f"plot_embedding(matrix, vocabulary) returned a {figure['type']}; expected a matplotlib Figure "
        "(figure = Figure(figsize=FIGURE_SIZE); FigureCanvasAgg(figure); ax = figure.add_subplot(); ...; "
        "return figure)."))
    collected.check(figure["axes"] == 1, f"the figure has {figure['axes']} axes; expected exactly one.")
    return figure


def _matrix(collected) -> np.ndarray:
    """The random matrix the plot was asked to draw (a grading-time question)."""
    if "matrix" not in collected.questions:
        pytest.fail(f"{collected.where()}: the grader's questions did not reach this test", pytrace=False)
    return np.asarray(collected.questions["matrix"])


@pytest.mark.points(3)
def test_one_text_per_term_at_its_point(collected):
    """one text per term, drawn at the term's row of the matrix"""
    figure = _figure(collected)
    matrix = _matrix(collected)
    texts = figure["texts"]
    collected.check(sorted(text for text, _, _ in texts) == sorted(INFORMATIVE_TERMS), (
        f"the axes hold {len(texts)} texts ({[t for t, _, _ in texts][:5]}...); expected the 50 informative terms, "
        "one ax.annotate(term, (x, y), ...) or ax.text(x, y, term) each."))
    for text, x, y in texts:
        row = matrix[INFORMATIVE_TERMS.index(text)]
        collected.check(np.allclose([x, y], row, atol=1e-5), (
            f"'{text}' marks the point ({x:.4f}, {y:.4f}); its row of the matrix is ({row[0]:.4f}, {row[1]:.4f})."))


def _draws_the_matrix(collected) -> bool:
    """Whether the figure's texts mark the grading-time matrix's rows (the test of one text per term)."""
    texts = {text: (x, y) for text, x, y in _figure(collected)["texts"]}
    matrix = _matrix(collected)
    return all(np.allclose(texts.get(term, (np.nan, np.nan)), matrix[row], atol=1e-5)
               for row, term in enumerate(INFORMATIVE_TERMS))


@pytest.mark.points(2)
def test_axis_limits_are_1_2_times_the_matrix_range(collected):
    """both axes span 1.2 x the matrix's min to 1.2 x its max, as in the course"""
    figure = _figure(collected)
    matrix = _matrix(collected)
    expected = [1.2 * matrix.min(), 1.2 * matrix.max()]
    for axis in ("xlim", "ylim"):
        collected.check(np.allclose(figure[axis], expected, atol=1e-4), (
            f"{axis} is {np.round(figure[axis], 4).tolist()}; expected {np.round(expected, 4).tolist()} "
            "(1.2 * matrix.min(), 1.2 * matrix.max()) on both axes."))


@pytest.mark.points(1)
def test_mismatched_matrix_is_a_value_error(collected):
    """a matrix whose rows do not match the vocabulary raises ValueError"""
    raised = collected.need("mismatch", "plot_embedding(mismatch)")
    collected.check(raised == "ValueError",
                    f"plot_embedding(matrix[:10], 50 terms) raised {raised}; expected ValueError.")
    # Refusing bad input counts for a function that draws good input: the same grading-time matrix's texts.
    collected.check(_draws_the_matrix(collected), (
        "plot_embedding raises ValueError for a mismatched matrix, but it does not yet draw a matching one "
        "(see the test of one text per term): this point comes with that one."))


@pytest.mark.points(1)
def test_title_and_axis_labels(collected):
    """the title passed is the plot's title, and both axes are labelled"""
    figure = _figure(collected)
    title = collected.questions.get("title")
    collected.check(title in figure.get("titles", []), (
        f"plot_embedding(matrix, vocabulary, title={title!r}) drew the titles {figure.get('titles', [])}; expected "
        "that title (ax.set_title(title))."))
    unlabelled = [axis for axis in ("xlabel", "ylabel") if not str(figure.get(axis, "")).strip()]
    collected.check(not unlabelled, f"the axes have no {' and no '.join(unlabelled)}; expected a label on each "
                    "axis (ax.set_xlabel('dimension 1'), ax.set_ylabel('dimension 2')).")
    # A title counts on a plot that draws the matrix, like the point for refusing a mismatched one.
    collected.check(_draws_the_matrix(collected), (
        "plot_embedding sets the title and axis labels, but it does not yet draw the matrix "
        "(see the test of one text per term): this point comes with that one."))


@pytest.mark.points(1)
def test_save_writes_a_png(collected):
    """save_embedding_plot writes a PNG file"""
    saved = collected.need("saved", "save_embedding_plot")
    collected.check(saved["exists"] and saved["is_png"] and saved["bytes"] > 1000, (
        f"save_embedding_plot(matrix, vocabulary, path) left {saved}; expected a PNG file at the path "
        "(figure.savefig(path, format='png'))."))


def _separation(matrix) -> float:
    index = {term: i for i, term in enumerate(INFORMATIVE_TERMS)}
    matrix = np.asarray(matrix)
    return scoring.separability(matrix[[index[t] for t in POSITIVE_TERMS]], matrix[[index[t] for t in NEGATIVE_TERMS]])


@pytest.mark.points(7)
def test_trained_embedding_separates_positive_from_negative_terms(collected):
    """in the trained 2-D embedding, a straight line separates positive from negative terms"""
    required = collected.exercise.requires[0]  # the exercise whose model is trained
    collected.need("trained_weights", f"import {required}", "build (trained)", "train (trained)",
                   "weights (trained)")
    collected.need("trained_answers", "train (trained)", "answers (trained)")
    matrix, why = contract.collector(collected.exercise.id).test_embedding(collected.data, collected.questions)
    collected.check(matrix is not None, (
        f"exercise 4's trained model has no embedding the grader can verify: {why}. The geometry is judged on the "
        "embedding the model really uses; check exercise 4 first."))
    separation = _separation(matrix)
    collected.check(separation >= GEOMETRY_PASS_MARK, (
        f"after training exercise 4's model ({collected.exercise.budget.epochs} epoch of batch "
        f"{collected.exercise.budget.batch_size}), the best straight line puts only {separation:.0%} of "
        f"{POSITIVE_TERMS} vs {NEGATIVE_TERMS} on the right side; expected {GEOMETRY_PASS_MARK:.0%}. A model "
        "that learned sentiment pulls them apart. Check exercise 4 first (its summed loss and initializer), "
        "then look at figures/.../embedding_trained.png."))
