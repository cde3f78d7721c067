"""Exercise 6's collector: the submission's plot of a random 2-D embedding (as
figure facts and a PNG), and the geometry of its own trained exercise-4 model.

The random matrix (drawn with the grading seed) is made before the submission
is imported: ``TRUSTED_REFERENCE``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab import manifest
from embedlab.grading import figures, models, schema, training
from embedlab.grading.contract import Collection, load_module
from embedlab.grading.models import VOCABULARY

TRUSTED_REFERENCE = True
RETURNS = {
    "matrix": schema.MATRIX,
    "figure": schema.PLAIN,
    "mismatch": schema.PLAIN,
    "saved": schema.PLAIN,
    "trained_matrix": schema.MATRIX,
    "short_matrix": schema.MATRIX,
    "trained_plot": schema.PLAIN,
    "short_plot": schema.PLAIN,
}

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


def learned_embedding(collection: Collection, build, name: str, steps: int | None) -> np.ndarray | None:
    """Build exercise 4's model, train it (`steps` batches, or the budget's epochs), return its matrix."""
    budget = collection.exercise.budget
    training.set_determinism(collection.seed)
    model = collection.step(f"build ({name})", build, list(VOCABULARY))
    if model is None:
        return None
    fitted = collection.step(f"train ({name})", training.fit, model, collection.data_dir, budget.epochs,
                             budget.batch_size, collection.seed, steps)
    if fitted is None:
        return None
    return collection.step(f"matrix ({name})", models.embedding_matrix_of, model)


def collect(collection: Collection) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # imported before the submission, with the Agg backend

    rng = np.random.default_rng(collection.seed)
    matrix = rng.normal(size=(len(VOCABULARY), 2)).astype(np.float32)
    collection.result["matrix"] = matrix.astype(np.float64)
    out_dir = collection.out_dir or Path.cwd()
    if not collection.load():
        return
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
