"""Exercise 6's collector: the submission's plot of a random 2-D embedding (as
figure facts and a PNG), and the geometry of its own trained exercise-4 model.

The random matrix is a question, drawn at grading time in the trusted
process. Exercise 4's model is trained here and exports its weights and its
answers to exercise 4's kind of question reviews: the grader finds the
trained embedding by checking them against exercise 4's architecture
(`test_embedding`), not from a matrix the worker reports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab import manifest
from embedlab.grading import figures, models, schema, training, transplant
from embedlab.grading.contract import Collection, load_module
from embedlab.grading.models import VOCABULARY

EXERCISE = __name__.rpartition(".")[2]
TRAINED = "trained_"  # the prefix of the trained exercise-4 model's exports
RETURNS = {
    "figure": schema.PLAIN,
    "mismatch": schema.PLAIN,
    "saved": schema.PLAIN,
    "trained_matrix": schema.MATRIX,
    "short_matrix": schema.MATRIX,
    "trained_plot": schema.PLAIN,
    "short_plot": schema.PLAIN,
    **{TRAINED + key: models.RETURNS[key] for key in ("weights", "weights_untrained", "weight_names",
                                                     "frozen_weights", "answers")},
}

# The plots it saves besides the manifest's `figures`: the student's plot of the grading-time matrix.
FIGURES = ("random_embedding.png",)

# The function of the required exercise (exercises.toml: requires) whose
# model's learned embedding is plotted and judged.
EMBEDDING_BUILDER = "build_embedding_model"


def close_figures() -> None:
    import matplotlib.pyplot as plt

    plt.close("all")


def check_plot(collection: Collection, plot, matrix: np.ndarray) -> None:
    """plot_embedding on the random matrix (its figure's facts), then on a mismatched one (what it raises)."""
    figure = collection.step("plot_embedding", plot, matrix.copy(), list(VOCABULARY))
    if figure is not None:
        collection.result["figure"] = collection.step("figure", figures.figure_facts, figure)
        close_figures()
    collection.result["mismatch"] = collection.step("plot_embedding(mismatch)", models.raised_by, plot,
                                                    matrix[:10].copy(), list(VOCABULARY))
    close_figures()


def check_save(collection: Collection, save, matrix: np.ndarray, out_dir: Path) -> None:
    """save_embedding_plot of the random matrix: what file it leaves."""
    target = out_dir / "random_embedding.png"
    target.unlink(missing_ok=True)
    saved = collection.step("save_embedding_plot", save, matrix.copy(), list(VOCABULARY), target)
    if saved is not None or target.exists():
        collection.result["saved"] = collection.step("saved", figures.png_facts, target)
    close_figures()


def embedding_builder(collection: Collection):
    """The builder of the required exercise (the submission's sibling module), or None (recorded)."""
    required = manifest.get(collection.exercise.requires[0])
    sibling = collection.module_path.with_name(required.module_file)
    step = f"import {required.id}"
    module = collection.step(step, load_module, sibling) if sibling.is_file() else None
    if module is None:
        collection.result["errors"].setdefault(step, f"{sibling.name}: not found or not importable")
        return None
    build = getattr(module, EMBEDDING_BUILDER, None)
    if not callable(build):
        collection.result["errors"][EMBEDDING_BUILDER] = f"{sibling.name} defines no {EMBEDDING_BUILDER}()"
        return None
    return build


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    """The random matrix to plot, and exercise 4's kind of question reviews for its trained model."""
    exercise = manifest.get(EXERCISE)
    matrix = rng.normal(size=(len(VOCABULARY), 2)).astype(np.float32).astype(np.float64)
    return {"matrix": matrix, **models.questions(rng, data_dir, exercise.budget.batch_size)}


def embedding_in(weights: list, dimension: int = 2) -> np.ndarray | None:
    """For the plots only: the first trainable (50, d) matrix, or (51, d) without its OOV row 0."""
    for weight in weights or []:
        if weight.shape == (len(VOCABULARY) + 1, dimension):
            return weight[1:]
        if weight.shape == (len(VOCABULARY), dimension):
            return weight
    return None


def learned_embedding(collection: Collection, build, name: str, steps: int | None) -> np.ndarray | None:
    """Build exercise 4's model, train it (`steps` batches, or the budget's epochs), return its matrix.

    The trained one exports its weights and answers (``trained_*``) for the grader's check.
    """
    prefix = TRAINED if steps is None else ""
    model = models.build(collection, EMBEDDING_BUILDER, list(VOCABULARY), prefix=prefix or f"{name}_",
                         builder=build, export=bool(prefix))
    if model is None:
        return None
    if prefix:
        if not models.train(collection, model, prefix=prefix):
            return None
        weights = collection.result.get(prefix + "weights")
    else:
        budget = collection.exercise.budget
        if collection.step(f"train ({name})", training.fit, model, collection.data_dir, budget.epochs,
                           budget.batch_size, collection.seed, steps) is None:
            return None
        weights = models.exported_weights(model.trainable_weights)
    matrix = embedding_in(weights)
    if matrix is None:
        collection.result["errors"][f"matrix ({name})"] = "no trainable (50, 2) matrix among the model's weights"
    return matrix


def test_embedding(result: dict, questions: dict) -> tuple[np.ndarray | None, str]:
    """The trained embedding as exercise 4's architecture check verified it, or (None, why not)."""
    architecture = manifest_architecture()
    verdict = transplant.verdict(architecture, result, questions, prefix=TRAINED)
    if not verdict.verified:
        return None, verdict.reason
    if verdict.params.frozen:
        return None, verdict.cause()
    moved = transplant.moved({key: result.get(TRAINED + key) for key in transplant.EXPORTS}, verdict)
    if not moved > 1e-6:
        return None, f"training did not move the embedding (largest change {moved:.2g})"
    return verdict.params.first, ""


def manifest_architecture() -> transplant.Architecture:
    """The architecture of the required exercise (exercise 4)."""
    from embedlab.grading import contract

    return contract.collector(manifest.get(EXERCISE).requires[0]).ARCHITECTURE


def collect(collection: Collection) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # imported before the submission, with the Agg backend

    out_dir = collection.out_dir or Path.cwd()
    if not collection.load():
        return
    if "matrix" not in collection.questions:
        collection.result["errors"]["questions"] = "the grader's questions (the matrix to plot) did not arrive"
        return
    matrix = np.asarray(collection.questions["matrix"], dtype=np.float32)
    plot = collection.function("plot_embedding")
    if plot is not None:
        check_plot(collection, plot, matrix)
    save = collection.function("save_embedding_plot")
    if save is not None:
        check_save(collection, save, matrix, out_dir)

    # The geometry of the student's own trained embedding (exercise 4's model).
    build = embedding_builder(collection)
    if build is None:
        return
    for name, steps in (("trained", None), ("short", collection.exercise.budget.short_steps)):
        learned = learned_embedding(collection, build, name, steps)
        if learned is None:
            return
        collection.result[f"{name}_matrix"] = learned
        if save is not None:
            target = out_dir / f"embedding_{name}.png"
            collection.step(f"save_embedding_plot ({name})", save, learned.copy(), list(VOCABULARY), target)
            close_figures()
            if target.is_file():
                collection.result[f"{name}_plot"] = str(target)
