"""The crash course's 50 informative terms, in the course's own order.

The order matters: it fixes which row of an embedding matrix belongs to which
term. Three of the terms are punctuation, which is why the tokenizer keeps
`.`, `!` and `?` as tokens of their own.
"""

INFORMATIVE_TERMS = (
    "bad", "great", "best", "worst", "fun", "beautiful",
    "excellent", "poor", "boring", "awful", "terrible",
    "definitely", "perfect", "liked", "worse", "waste",
    "entertaining", "loved", "unfortunately", "amazing",
    "enjoyed", "favorite", "horrible", "brilliant", "highly",
    "simple", "annoying", "today", "hilarious", "enjoyable",
    "dull", "fantastic", "poorly", "fails", "disappointing",
    "disappointment", "not", "him", "her", "good", "time",
    "?", ".", "!", "movie", "film", "action", "comedy",
    "drama", "family",
)

# Terms whose sentiment is unambiguous, used to judge the geometry of a
# learned embedding (the course's Task 5 asks which terms end up together).
POSITIVE_TERMS = ("great", "excellent", "perfect", "amazing", "brilliant", "loved", "fantastic")
NEGATIVE_TERMS = ("bad", "worst", "awful", "terrible", "waste", "poorly", "horrible")

if len(INFORMATIVE_TERMS) != 50 or len(set(INFORMATIVE_TERMS)) != 50:  # pragma: no cover
    raise RuntimeError("INFORMATIVE_TERMS must hold 50 distinct terms")
