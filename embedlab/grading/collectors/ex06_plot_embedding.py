"""Exercise 6's collector: the submission's plot of a random 2-D matrix (as
figure facts and a PNG), the geometry of its own trained exercise-4 model, and
that model's embedding drawn before training, after a few steps and trained.

The random matrix and its title are questions, drawn at grading time in the
trusted process. Exercise 4's model is trained here and exports its weights and its
answers to exercise 4's kind of question reviews: the grader finds the
trained embedding by checking them against exercise 4's architecture
(`test_embedding`), not from a matrix the worker reports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab import manifest
from embedlab.data.prepare import EXPECTED_PER_SPLIT
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
    "initial_matrix": schema.MATRIX,
    "trained_plot": schema.PLAIN,
    "short_plot": schema.PLAIN,
    "initial_plot": schema.PLAIN,
    **{TRAINED + key: models.RETURNS[key] for key in ("weights", "weights_untrained", "weight_names",
                                                     "frozen_weights", "answers")},
}

# The plots it saves besides the manifest's `figures`: the student's plot of the grading-time matrix.
FIGURES = ("random_embedding.png",)
RANDOM_PLOT = FIGURES[0]

# The function of the required exercise (exercises.toml: requires) whose
# model's learned embedding is plotted and judged.
EMBEDDING_BUILDER = "build_embedding_model"


def close_figures() -> None:
    import matplotlib.pyplot as plt

    plt.close("all")


def check_plot(collection: Collection, plot, matrix: np.ndarray) -> None:
    """plot_embedding on the random matrix (its figure's facts), then on a mismatched one (what it raises)."""
    figure = collection.step("plot_embedding", plot, matrix.copy(), list(VOCABULARY),
                             title=collection.questions.get("title"))
    if figure is not None:
        collection.result["figure"] = collection.step("figure", figures.figure_facts, figure)
        close_figures()
    collection.result["mismatch"] = collection.step("plot_embedding(mismatch)", models.raised_by, plot,
                                                    matrix[:10].copy(), list(VOCABULARY))
    close_figures()


def check_save(collection: Collection, save, matrix: np.ndarray, out_dir: Path) -> None:
    """save_embedding_plot of the random matrix: what file it leaves."""
    target = out_dir / RANDOM_PLOT
    target.unlink(missing_ok=True)
    saved = collection.step("save_embedding_plot", save, matrix.copy(), list(VOCABULARY), target,
                            title=collection.questions.get("title"))
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
    """The random matrix to plot and its title, and exercise 4's kind of question reviews for its trained model."""
    exercise = manifest.get(EXERCISE)
    matrix = rng.normal(size=(len(VOCABULARY), 2)).astype(np.float32).astype(np.float64)
    asked = {"matrix": matrix, **models.questions(rng, data_dir, exercise.budget.batch_size)}
    # Drawn last: the matrix and the reviews stay what the same seed gave before the title was asked.
    number = int(rng.integers(10**5, 10**6))
    return {**asked, "title": f"a random {len(VOCABULARY)} x 2 matrix, not an embedding (grading question {number})"}


def stages(exercise) -> tuple[tuple[str, int | None], ...]:
    """The embeddings drawn, as (name, training steps; None: the budget's epochs): the graded one first."""
    return (("trained", None), ("short", exercise.budget.short_steps), ("initial", 0))


def stage_words(exercise, steps: int | None) -> str:
    """How long exercise 4's model was trained, in words, e.g. 'after 10 steps of 25 reviews'."""
    budget = exercise.budget
    if steps == 0:
        return "before training (as initialized)"
    if steps is None:
        epochs = f"{budget.epochs} epoch{'s' * (budget.epochs != 1)}"
        steps = budget.epochs * EXPECTED_PER_SPLIT // budget.batch_size
        return f"after {epochs} ({steps:,} steps of {budget.batch_size} reviews)"
    return f"after {steps} step{'s' * (steps != 1)} of {budget.batch_size} reviews"


def stage_title(exercise, steps: int | None) -> str:
    return f"exercise {manifest.get(exercise.requires[0]).number}'s embedding {stage_words(exercise, steps)}"


def plot_file(name: str) -> str:
    return f"embedding_{name}.png"


def figure_descriptions(result: dict) -> list[tuple[str, str]]:
    """Every file this collector drew, as (path, what it shows): the random matrix, then the embedding from
    before training to trained."""
    exercise = manifest.get(EXERCISE)
    described = []
    saved = result.get("saved")
    if isinstance(saved, dict) and saved.get("exists"):
        described.append((saved["path"], f"the grader's random {len(VOCABULARY)} x 2 matrix (standard normal) "
                                         "drawn by save_embedding_plot: a test of the drawing, not an embedding"))
    for name, steps in reversed(stages(exercise)):  # the story in order: as initialized, then trained
        if isinstance(result.get(f"{name}_plot"), str):
            described.append((result[f"{name}_plot"], stage_title(exercise, steps)))
    return described


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
    elif steps == 0:  # as built: the same seed gives the start the other two were trained from
        weights = models.exported_weights(model.trainable_weights)
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
    for name, steps in stages(collection.exercise):
        learned = learned_embedding(collection, build, name, steps)
        if learned is None:
            return
        collection.result[f"{name}_matrix"] = learned
        if save is not None:
            target = out_dir / plot_file(name)
            collection.step(f"save_embedding_plot ({name})", save, learned.copy(), list(VOCABULARY), target,
                            title=stage_title(collection.exercise, steps))
            close_figures()
            if target.is_file():
                collection.result[f"{name}_plot"] = str(target)
