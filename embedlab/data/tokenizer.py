"""The tokenizer that turns a review's text into the `terms` of a record.

This is the one place where tokenization is defined; `prepare` stores its
version in `manifest.json` so that a change here is visible in the data.

Rules, applied in order:

1. Lowercase the whole text (Unicode-aware ``str.lower``).
2. Replace HTML line breaks (``<br />``, ``<br/>``, ``<br>``, any case and
   spacing) by a space: the IMDB reviews are scraped HTML. No other markup is
   treated specially (``<i>`` gives the word ``i``).
3. Emit tokens left to right:

   * a *word* is a run of letters and digits (any script, including digits
     such as ``½`` or ``²``; ``_`` is not a letter, so ``snake_case`` is two
     words). Apostrophes *inside* a word stay in it, so ``don't``,
     ``director's`` and ``rock'n'roll`` are one token each; an apostrophe at
     the start or end of a word (quotes like ``'bad'``) is dropped, and two
     in a row split the word. Both the ASCII apostrophe and the typographic
     one (U+2019) count, and the latter is stored as ASCII ``'``; other
     quote marks (U+2018, backtick) separate words;
   * ``.``, ``!`` and ``?`` are tokens of their own, one per character
     (``!!!`` gives three ``!``, ``3.5`` gives ``3 . 5``), because three of
     the course's 50 informative terms are punctuation. Look-alikes such as
     the ellipsis ``…`` or full-width ``！`` are not these characters;
   * everything else (other punctuation, symbols, white space, control
     characters, and combining marks, which is why text should be in NFC
     form, as all IMDB reviews are) separates tokens and is dropped.

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
# The same rule for lowercased ASCII text, where a letter or digit is exactly
# [a-z0-9]; about a fifth faster, and most reviews are ASCII.
_ASCII_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[.!?]")
# The same two rules on ASCII bytes. A str pattern's \s also matches the ASCII
# separators \x1c-\x1f, a bytes pattern's does not: they are named here.
_ASCII_BYTES_LINE_BREAK = re.compile(rb"<[\s\x1c-\x1f]*br[\s\x1c-\x1f]*/?[\s\x1c-\x1f]*>")
_ASCII_BYTES_TOKEN = re.compile(_ASCII_TOKEN.pattern.encode("ascii"))


def tokenize(text: str) -> list[str]:
    """Split a review's text into terms by the rules in this module's docstring."""
    text = _LINE_BREAK.sub(" ", text.lower()).replace("\u2019", "'")
    return (_ASCII_TOKEN if text.isascii() else _TOKEN).findall(text)


def tokenize_utf8(text: str) -> list[bytes]:
    r"""`tokenize`'s terms encoded as UTF-8, as a record stores them.

    The same rules; faster than encoding each term of `tokenize` (most reviews
    are ASCII, and then the bytes are matched directly).

    >>> tokenize_utf8("Caf\u00e9<BR>isn\u2019t bad!")
    [b'caf\xc3\xa9', b"isn't", b'bad', b'!']
    """
    lowered = text.lower()
    if lowered.isascii():
        return _ASCII_BYTES_TOKEN.findall(_ASCII_BYTES_LINE_BREAK.sub(b" ", lowered.encode("ascii")))
    terms = tokenize(text)
    # One encode for the whole review: no term holds "\n" (nor any white space).
    return "\n".join(terms).encode("utf-8").split(b"\n") if terms else []
