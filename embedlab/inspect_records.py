"""`embedlab inspect PATH`: what is inside a course TFRecord file."""

from __future__ import annotations

import collections

from embedlab import records
from embedlab.errors import EmbedlabError
from embedlab.vocabulary import INFORMATIVE_TERMS


def summarize(path: str, sample_terms: int = 20) -> dict:
    """Count records, labels, tokens and informative terms in one file."""
    import numpy as np
    import tensorflow as tf

    files = records.resolve_files(path)
    for file in files:
        records.check_schema(file)
    informative = set(INFORMATIVE_TERMS)
    term_counts: collections.Counter[str] = collections.Counter()
    lengths: list[np.ndarray] = []
    positives = total = 0
    sample: list[str] = []
    try:
        for features, labels in records.read_dataset(files, batch_size=1000):
            values = features[records.TERMS].flat_values.numpy()
            lengths.append(features[records.TERMS].row_lengths().numpy())
            labels = labels.numpy()[:, 0]
            if not sample:
                sample = [term.decode("utf-8", "replace") for term in features[records.TERMS][0][:sample_terms].numpy()]
            positives += int((labels == 1.0).sum())
            total += len(labels)
            words, counts = np.unique(values, return_counts=True)
            for word, count in zip(words, counts):
                term = word.decode("utf-8", "replace")
                if term in informative:
                    term_counts[term] += int(count)
    except tf.errors.OpError as error:
        raise EmbedlabError(f"{path}: unreadable record after {total} records ({records._first_line(error)})") from None
    per_review = np.concatenate(lengths) if lengths else np.zeros(0)
    return {
        "path": str(path),
        "records": total,
        "positive": positives,
        "negative": total - positives,
        "tokens_per_review": {
            "mean": float(per_review.mean()) if total else 0.0,
            "median": float(np.median(per_review)) if total else 0.0,
            "min": int(per_review.min()) if total else 0,
            "max": int(per_review.max()) if total else 0,
        },
        "informative_terms_present": sum(1 for term in INFORMATIVE_TERMS if term_counts[term]),
        "informative_term_counts": {term: term_counts[term] for term in INFORMATIVE_TERMS},
        "sample_terms": sample,
    }


def format_summary(summary: dict) -> str:
    total = summary["records"] or 1
    tokens = summary["tokens_per_review"]
    counts = summary["informative_term_counts"]
    absent = [term for term, count in counts.items() if not count]
    top = sorted(counts.items(), key=lambda item: -item[1])[:10]
    lines = [
        f"{summary['path']}",
        f"  records:          {summary['records']:,}",
        f"  labels:           {summary['positive']:,} positive ({summary['positive'] / total:.1%}), "
        f"{summary['negative']:,} negative",
        f"  tokens/review:    mean {tokens['mean']:.1f}, median {tokens['median']:.0f}, "
        f"min {tokens['min']}, max {tokens['max']}",
        f"  informative terms present: {summary['informative_terms_present']} of {len(counts)}"
        + (f" (absent: {', '.join(absent)})" if absent else ""),
        "  most frequent:    " + ", ".join(f"{term!r} {count:,}" for term, count in top),
        "  first review:     " + " ".join(summary["sample_terms"]) + " ...",
    ]
    return "\n".join(lines)
