"""`embedlab inspect PATH`: what is inside a course TFRecord file."""

from __future__ import annotations

from embedlab.data import records
from embedlab.errors import EmbedlabError
from embedlab.vocabulary import INFORMATIVE_TERMS


def summarize(path: str, sample_terms: int = 20) -> dict:
    """Count records, labels, tokens and informative terms in one file (or glob)."""
    files = records.resolve_files(path)
    count = sum(records.check_schema(file) for file in files)

    import numpy as np
    import tensorflow as tf

    # Look the 50 terms up in TensorFlow: a Python pass over 6 million terms
    # per file would take seconds.
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(INFORMATIVE_TERMS), tf.range(len(INFORMATIVE_TERMS), dtype=tf.int64)
        ),
        default_value=-1,
    )
    batch_size = 1000
    term_counts = np.zeros(len(INFORMATIVE_TERMS), dtype=np.int64)
    lengths: list[np.ndarray] = []
    positives = negatives = total = 0
    sample: list[str] = []
    try:
        for features, labels in records.read_dataset(files, batch_size=batch_size):
            terms = features[records.TERMS]
            ids = table.lookup(terms.flat_values)
            term_counts += tf.math.bincount(
                ids[ids >= 0], minlength=len(INFORMATIVE_TERMS), dtype=tf.int64
            ).numpy()
            lengths.append(terms.row_lengths().numpy())
            labels = labels.numpy()[:, 0]
            if not sample:
                sample = [term.decode("utf-8", "replace") for term in terms[0][:sample_terms].numpy()]
            positives += int((labels == 1.0).sum())
            negatives += int((labels == 0.0).sum())
            total += len(labels)
    except tf.errors.OpError as error:
        # Batches arrive in order, so the bad record is in the next one.
        raise EmbedlabError(
            f"{path}: unreadable record among records {total + 1:,} to {min(total + batch_size, count):,} "
            f"({records._first_line(error)})"
        ) from None
    per_review = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    return {
        "path": str(path),
        "records": total,
        "positive": positives,
        "negative": negatives,
        "other_labels": total - positives - negatives,
        "tokens_per_review": {
            "mean": float(per_review.mean()) if total else 0.0,
            "median": float(np.median(per_review)) if total else 0.0,
            "min": int(per_review.min()) if total else 0,
            "max": int(per_review.max()) if total else 0,
        },
        "informative_terms_present": int((term_counts > 0).sum()),
        "informative_term_counts": {term: int(count) for term, count in zip(INFORMATIVE_TERMS, term_counts)},
        "sample_terms": sample,
    }


def format_summary(summary: dict) -> str:
    total = summary["records"] or 1
    tokens = summary["tokens_per_review"]
    counts = summary["informative_term_counts"]
    absent = [term for term, count in counts.items() if not count]
    other = summary.get("other_labels", 0)
    lines = [
        f"{summary['path']}",
        f"  records:          {summary['records']:,}",
        f"  labels:           {summary['positive']:,} positive ({summary['positive'] / total:.1%}), "
        f"{summary['negative']:,} negative ({summary['negative'] / total:.1%})"
        + (f", {other:,} neither 0 nor 1" if other else ""),
        f"  tokens/review:    mean {tokens['mean']:.1f}, median {tokens['median']:.0f}, "
        f"min {tokens['min']}, max {tokens['max']}",
        f"  informative terms present: {summary['informative_terms_present']} of {len(counts)}"
        + (f" (absent: {', '.join(absent)})" if absent else ""),
    ]
    # Every term that occurs, most frequent first, with how often.
    line = "  "
    for term, count in sorted(counts.items(), key=lambda item: -item[1]):
        item = f"  {term!r} {count:,}"
        if count and len(line) + len(item) > 100:
            lines.append(line)
            line = "  "
        line += item if count else ""
    if line.strip():
        lines.append(line)
    lines.append("  first review:     " + " ".join(summary["sample_terms"]) + " ...")
    return "\n".join(lines)
