"""The tokenizer's rules (documented in embedlab/tokenizer.py), case by case."""

from __future__ import annotations

import doctest
import random
import re

import pytest

from embedlab.data import tokenizer
from embedlab.data.tokenizer import tokenize, tokenize_utf8

CASES = [
    # --- lowercasing and words
    ("plain", "This movie", ["this", "movie"]),
    ("all caps", "GREAT", ["great"]),
    ("empty", "", []),
    ("only white space", " \t\n\r ", []),
    ("only separators", "--- *** ///", []),
    # --- HTML line breaks
    ("br xhtml", "great<br />movie", ["great", "movie"]),
    ("br no space", "great<br/>movie", ["great", "movie"]),
    ("br html", "great<br>movie", ["great", "movie"]),
    ("br upper", "great<BR />movie", ["great", "movie"]),
    ("br inner spaces", "great< br / >movie", ["great", "movie"]),
    ("br twice", "end.<br /><br />Start", ["end", ".", "start"]),
    ("other tags are text", "<i>sic</i>", ["i", "sic", "i"]),
    ("br with attributes is text", "<br class=x>", ["br", "class", "x"]),
    # --- apostrophes
    ("contraction", "don't", ["don't"]),
    ("possessive", "director's cut", ["director's", "cut"]),
    ("two inner", "rock'n'roll", ["rock'n'roll"]),
    ("single quotes dropped", "'bad'", ["bad"]),
    ("leading apostrophe", "'tis", ["tis"]),
    ("plural possessive", "actors' work", ["actors", "work"]),
    ("doubled splits", "don''t", ["don", "t"]),
    ("apostrophe alone", "' '' '", []),
    ("spaced 'n'", "rock 'n' roll", ["rock", "n", "roll"]),
    ("U+2019 inner becomes ascii", "don\u2019t", ["don't"]),
    ("U+2019 quotes dropped", "\u2019bad\u2019", ["bad"]),
    ("U+2019 two inner", "rock\u2019n\u2019roll", ["rock'n'roll"]),
    ("U+2018 separates", "\u2018quoted\u2019", ["quoted"]),
    ("U+2018 inside splits", "don\u2018t", ["don", "t"]),
    ("backtick separates", "don`t", ["don", "t"]),
    ("apostrophe then punctuation", "can't!", ["can't", "!"]),
    ("apostrophe next to digits", "'90s and 80's", ["90s", "and", "80's"]),
    # --- . ! ? are tokens, one per character
    ("full stop", "end.", ["end", "."]),
    ("exclamation", "wow!", ["wow", "!"]),
    ("question", "why?", ["why", "?"]),
    ("each character", "no!!!", ["no", "!", "!", "!"]),
    ("ellipsis of dots", "so...", ["so", ".", ".", "."]),
    ("mixed", "what?!", ["what", "?", "!"]),
    ("decimal point", "3.5 stars", ["3", ".", "5", "stars"]),
    ("abbreviation", "e.g.", ["e", ".", "g", "."]),
    ("punctuation alone", "?", ["?"]),
    ("ellipsis character dropped", "so\u2026", ["so"]),
    ("full-width ! dropped", "wow\uff01", ["wow"]),
    # --- other punctuation and symbols separate
    ("comma semicolon colon", "a,b;c:d", ["a", "b", "c", "d"]),
    ("hyphen", "well-made", ["well", "made"]),
    ("slash", "10/10", ["10", "10"]),
    ("parentheses quotes", '("fine")', ["fine"]),
    ("symbols", "$5 & 50% @home #1", ["5", "50", "home", "1"]),
    ("emoji separates", "good\U0001F600bad", ["good", "bad"]),
    ("control characters separate", "a\x00b\x85c\x96d", ["a", "b", "c", "d"]),
    ("soft hyphen separates", "some\xadthing", ["some", "thing"]),
    ("no-break space", "a\xa0b", ["a", "b"]),
    ("zero-width space", "a\u200bb", ["a", "b"]),
    # --- unicode letters
    ("accents", "Naïve café", ["naïve", "café"]),
    ("accented capitals", "ÉCOLE", ["école"]),
    ("sharp s", "Straße", ["straße"]),
    ("greek final sigma", "ΣΊΣΥΦΟΣ", ["σίσυφος"]),
    ("cyrillic", "Хороший фильм", ["хороший", "фильм"]),
    ("hebrew", "סרט טוב", ["סרט", "טוב"]),
    ("cjk run is one word", "日本語の映画", ["日本語の映画"]),
    ("ordinal indicator", "1ª vez", ["1ª", "vez"]),
    ("precomposed kept", "caf\u00e9", ["café"]),
    ("combining mark dropped (NFD)", "cafe\u0301 ok", ["cafe", "ok"]),
    ("kelvin sign lowercases to ascii k", "\u212a", ["k"]),
    # --- digits
    ("digits", "1950 film", ["1950", "film"]),
    ("letters and digits", "2nd mp3", ["2nd", "mp3"]),
    ("superscript", "x² ³", ["x²", "³"]),
    ("fractions", "½ ¾", ["½", "¾"]),
    ("arabic-indic digits", "١٢٣", ["١٢٣"]),
    ("full-width digits", "１２３", ["１２３"]),
    # --- underscores are not letters
    ("underscore splits", "snake_case", ["snake", "case"]),
    ("leading and trailing underscores", "__init__", ["init"]),
    ("underscores alone", "___", []),
    ("underscore next to apostrophe", "_don't_", ["don't"]),
    # --- a whole review
    (
        "review",
        "This movie was GREAT!<br /><br />I'd see it again... 10/10",
        ["this", "movie", "was", "great", "!", "i'd", "see", "it", "again", ".", ".", ".", "10", "10"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_tokenize(text, expected):
    assert tokenize(text) == expected


def test_case_ids_are_unique():
    assert len({case[0] for case in CASES}) == len(CASES)


def test_docstring_examples_hold():
    """The module docstring is the documentation: its examples must be true."""
    failures, tried = doctest.testmod(tokenizer, raise_on_error=False, report=True)
    assert tried >= 2
    assert failures == 0


def test_version_is_a_nonempty_string():
    assert isinstance(tokenizer.TOKENIZER_VERSION, str) and tokenizer.TOKENIZER_VERSION


# Pieces that, glued together at random, hit the rules' edges: the ASCII fast
# path must agree with the general rule, and no term may hold white space
# (prepare joins a review's terms with "\n").
_PIECES = [
    "a", "Z", "x9", "don", "t", "'", "\u2019", "\u2018", "_", ".", "!", "?", ",", "-", " ", "\n", "\t",
    "<br />", "<BR>", "<br/>", "é", "Ω", "日本", "١", "½", "\u0301", "\xa0", "\x00", "\u212a", "İ", "10",
]


def _reference(text: str) -> list[str]:
    text = re.sub(r"<\s*br\s*/?\s*>", " ", text.lower(), flags=re.IGNORECASE).replace("\u2019", "'")
    return re.findall(r"[^\W_]+(?:'[^\W_]+)*|[.!?]", text)


@pytest.mark.parametrize("ascii_only", [True, False], ids=["ascii", "unicode"])
def test_random_texts_follow_the_general_rule(ascii_only):
    pieces = [piece for piece in _PIECES if piece.isascii()] if ascii_only else _PIECES
    rng = random.Random(20111)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        terms = tokenize(text)
        assert terms == _reference(text), text
        assert all(term and not any(ch.isspace() for ch in term) for term in terms), text


def test_tokens_match_their_rule():
    word_or_punctuation = re.compile(r"(?:[^\W_]+(?:'[^\W_]+)*|[.!?])")
    text = " ".join(case[1] for case in CASES)
    assert all(word_or_punctuation.fullmatch(term) for term in tokenize(text))


# Separators that Python's str patterns count as white space and its bytes patterns do not.
_ASCII_EDGES = ["\x1c", "\x1f", "<\x1cbr>", "<br\x1d/>", "<BR/\x1e>", "<br\x0b>", "\x7f", "\x00"]


@pytest.mark.parametrize("ascii_only", [True, False], ids=["ascii", "unicode"])
def test_utf8_terms_are_the_terms_encoded(ascii_only):
    """`tokenize_utf8` (what `prepare` writes) is `tokenize`, term for term, in UTF-8."""
    pieces = [piece for piece in _PIECES + _ASCII_EDGES if piece.isascii() or not ascii_only]
    rng = random.Random(2011)
    texts = [case[1] for case in CASES] + [
        "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    for text in texts:
        assert tokenize_utf8(text) == [term.encode("utf-8") for term in tokenize(text)], repr(text)
