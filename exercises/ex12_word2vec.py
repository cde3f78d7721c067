"""Exercise 12: word2vec, skip-gram with negative sampling.

The concept
-----------
"You shall know a word by the company it keeps" (Firth, 1957). The
*distributional hypothesis*: words that occur in the same contexts tend to
mean similar things. "Hilarious" and "funny" are rarely in the same sentence,
but both follow "was", "so" and "really" and come before "and", "moments"
and "scenes"; a model that learns to predict a word's neighbours must give
them similar vectors. No label is needed: the text is its own supervision.
Exercises 4 and 7 learned vectors that serve one task (is the review
positive?); word2vec learns vectors from the words' company alone.

Skip-gram (Mikolov et al., 2013) turns text into (target, context) pairs:
every position of a review is a target, and each term at most ``window``
positions before or after it is one of its contexts. With ``window=2``,
"a truly hilarious film" gives (truly, a), (truly, hilarious), (truly,
film), (hilarious, a), ... A position is never its own context, but the
same term at another position is: "very very good" gives (very, very) twice.

Predicting the context among all 10,000 terms (a softmax) costs 10,000 dot
products per pair. *Negative sampling* (Mikolov et al., 2013) asks an
easier question: is this (target, context) pair real, or made up? Each real
pair, labelled 1, comes with ``k`` made-up ones, labelled 0: the same
target with ``k`` *negative* contexts drawn at random. The model holds two
matrices, one vector per term as a target (``E``) and one as a context
(``C``), and answers ``sigmoid(E[target] . C[context])``: a logistic
regression whose features are learned. After training, ``E`` holds the word
vectors; terms with similar contexts have a similar direction (a high cosine
similarity).

Two details from the paper matter as much as the model:

* *Subsampling.* "the", "." and "a" are 13% of the training reviews' terms
  and say little about their neighbours. Each occurrence of a term of
  frequency ``f = count / total`` is kept with probability
  ``min(1, sqrt(threshold / f))``: with ``threshold = 1e-5``, "the" (f =
  0.057 among the 10,000 most frequent terms) is kept 1.3% of the time,
  "hilarious" (f = 1.7e-4) 25%, any term with ``f <= threshold`` always. Of
  the 5.9 million occurrences of those terms, about 1.05 million remain, and
  a window of 2 then reaches further among the words that matter.
* *The 3/4 power.* Negatives are drawn from the unigram distribution
  raised to the power 3/4: ``counts ** 0.75 / sum(counts ** 0.75)``. Drawing
  by plain frequency would make most negatives "the" and ","; uniformly, most
  would be rare words the model learns nothing from. The power lies between
  (Mikolov et al. found it better than both). A negative equal to the
  pair's own context would be a real pair labelled 0: draw it again.

The grader trains your model with its own pipeline (the collector): the
10,000 most frequent training terms, every review subsampled with your
``keep_probabilities`` (threshold 1e-5), your ``skipgram_pairs`` with
window 2 for each review, at most 3,000,000 pairs (shuffled), 4 negatives each
from your ``draw_negatives`` and ``negative_distribution``, then one epoch of
batches of 2,048: 15 to 25 seconds on 2 idle cores (docs/calibration.md),
up to a minute or two on a busy machine. On the reference run (seed
20111) the nearest neighbours of a few terms, by cosine similarity of
``E``'s rows, among the 2,000 most frequent terms (rarer ones are seen
too seldom in so short a training to have settled):

* horror: flicks, movies, amount, gore, slasher, mix
* actor: cast, play, depth, best, casting, beautifully
* script: acting, anybody, paced, dialogue, cinematography, design
* husband: bed, married, mom, wearing, killed, son
* father: daughter, friend, she's, decides, richard, bank
* good: problem, some, pretty, language, gore, main

Half a minute is little for word2vec (the original trained on billions of
words): the neighbours are topical ("husband" keeps company with "married"
and "bed", "good" with the things reviews call good or not) and noisy, yet
the geometry is already there. Measured over six seeds: for 26 hand-made
related pairs (bad/awful, actor/actress, father/mother, horror/slasher...),
the partner is on average more similar than 90-95% of the 3,000 most
frequent terms (50% by chance); for 11 hand-made groups of terms (family,
numbers, nations, genres, time, colours...), a term is nearer a term of its
own group than one of another in 80-85% of the triples (50% by chance). Analogies (woman - man + actor = actress?) are
beyond this budget: the answer is among the 10 nearest terms for under 5%.

What to build
-------------
1. ``skipgram_pairs(sequence, window)``: for a sequence of term ids, every
   (target, context) pair with the context at most ``window`` positions
   before or after the target (never the target's own position), as an int64
   array of shape ``(pairs, 2)``, in any order. A sequence of ``n`` terms
   gives ``2 * sum(max(n - o, 0) for o in 1..window)`` pairs. Raise
   ``ValueError`` when ``window`` is below 1. The grader calls it once per
   training review (25,000 times): numpy slices keep that to a second.
2. ``keep_probabilities(counts, threshold=1e-5)``: for each term's count
   (all positive), ``min(1, sqrt(threshold / f))`` with ``f = counts /
   counts.sum()``, float64.
3. ``negative_distribution(counts, power=0.75)``: ``counts ** power``,
   normalized to sum to 1, float64.
4. ``draw_negatives(contexts, distribution, k, rng)``: for each context id,
   ``k`` ids drawn from ``distribution`` with ``rng`` (a
   ``numpy.random.Generator``), none equal to that row's context (draw those
   again): int64, shape ``(len(contexts), k)``. The grader calls it once on
   3,000,000 contexts: draw them all at once (``rng.choice(..., size=(n,
   k), p=distribution)``), then only the clashes again.
5. ``build_word2vec(vocabulary_size, dimension=50, negatives=4)``: a Keras
   functional model with two inputs, ``{"target": keras.Input(shape=(),
   dtype="int32", name="target"), "context": keras.Input(shape=(negatives +
   1,), dtype="int32", name="context")}``; an ``Embedding(vocabulary_size,
   dimension)`` for the targets and another for the contexts, the dot
   product of the target's vector with each context's vector
   (``keras.layers.Dot(axes=(1, 2))``) and a sigmoid, without bias.
   Compile it with ``keras.optimizers.Adam(learning_rate=0.01)`` and
   ``keras.losses.BinaryCrossentropy()``. Raise ``ValueError`` when
   ``vocabulary_size``, ``dimension`` or ``negatives`` is below 1.

Shapes
------
With ``V`` terms, ``D = dimension`` and ``k = negatives``:

* ``skipgram_pairs``: ``(pairs, 2)`` int64; ``keep_probabilities``,
  ``negative_distribution``: ``(V,)`` float64; ``draw_negatives``:
  ``(len(contexts), k)`` int64;
* model inputs: ``target`` ``(batch,)``, ``context`` ``(batch, k + 1)``
  (column 0 the real context, then the negatives); output ``(batch, k +
  1)``, the probability that each pair is real (labels: 1, then k zeros);
* the two embedding weights: ``(V, D)`` each.

Example
-------
>>> skipgram_pairs([7, 8, 9], window=1).tolist()
[[7, 8], [8, 9], [8, 7], [9, 8]]
>>> sorted(map(tuple, skipgram_pairs([5, 5], window=3).tolist()))
[(5, 5), (5, 5)]
>>> skipgram_pairs([4], window=2).shape
(0, 2)
>>> keep_probabilities(np.array([999_000, 1_000]), threshold=1e-3).round(4).tolist()
[0.0316, 1.0]
>>> negative_distribution(np.array([1, 16])).round(4).tolist()
[0.1111, 0.8889]
>>> negatives = draw_negatives(np.array([0, 1, 1]), np.array([0.5, 0.25, 0.25]), 4, np.random.default_rng(0))
>>> negatives.shape, bool((negatives != np.array([[0], [1], [1]])).all())
((3, 4), True)
"""

from __future__ import annotations

import numpy as np


def skipgram_pairs(sequence, window):
    """Every (target, context) pair of ids at most `window` positions apart, int64 ``(pairs, 2)``."""
    raise NotImplementedError("skipgram_pairs() in ex12_word2vec.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 12`")


def keep_probabilities(counts, threshold=1e-5):
    """The probability of keeping each occurrence of a term: ``min(1, sqrt(threshold / frequency))``."""
    raise NotImplementedError("keep_probabilities() in ex12_word2vec.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 12`")


def negative_distribution(counts, power=0.75):
    """The distribution negatives are drawn from: ``counts ** power``, normalized."""
    raise NotImplementedError("negative_distribution() in ex12_word2vec.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 12`")


def draw_negatives(contexts, distribution, k, rng):
    """`k` ids per context from `distribution`, none equal to the row's context: int64 ``(n, k)``."""
    raise NotImplementedError("draw_negatives() in ex12_word2vec.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 12`")


def build_word2vec(vocabulary_size, dimension=50, negatives=4):
    """Skip-gram with negative sampling: sigmoid(target vector . context vector), compiled."""
    raise NotImplementedError("build_word2vec() in ex12_word2vec.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 12`")
