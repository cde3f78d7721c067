"""The tokenizer that turns a review's text into the `terms` of a record.

This is the one place where tokenization is defined; `prepare` stores its
version in `manifest.json` so that a change here is visible in the data.

Rules, applied in order:

1. Lowercase the whole text (Unicode-aware ``str.lower``).
2. Replace HTML line breaks (``<br />``, ``<br/>``, ``<br>``, any case and
   spacing) by a space: the IMDB reviews are scraped HTML.
3. Emit tokens left to right:

   * a *word* is a run of letters and digits (any script; ``_`` is not a
     letter). Apostrophes *inside* a word stay in it, so ``don't``,
     ``director's`` and ``rock'n'roll`` are one token each; an apostrophe at
     the start or end of a word (quotes like ``'bad'``) is dropped. Both the
     ASCII apostrophe and the typographic one (U+2019) count, and the latter
     is stored as ASCII ``'``;
   * ``.``, ``!`` and ``?`` are tokens of their own, one per character
     (``!!!`` gives three ``!``), because three of the course's 50
     informative terms are punctuation;
   * everything else (other punctuation, symbols, white space) separates
     tokens and is dropped.

>>> tokenize("This movie was GREAT!<br /><br />I'd see it again... 10/10")
['this', 'movie', 'was', 'great', '!', "i'd", 'see', 'it', 'again', '.', '.', '.', '10', '10']
>>> tokenize("'Bad' isn't the word? It's worse.")
['bad', "isn't", 'the', 'word', '?', "it's", 'worse', '.']
"""

from __future__ import annotations

import re

# Bump when a rule above changes: prepared data records it.
TOKENIZER_VERSION = "1"

_LINE_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[.!?]")


def tokenize(text: str) -> list[str]:
    """Split a review's text into terms by the rules in this module's docstring."""
    text = _LINE_BREAK.sub(" ", text.lower()).replace("\u2019", "'")
    return _TOKEN.findall(text)
