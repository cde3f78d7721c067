"""The one exception type that the command line turns into a one-line error."""


class EmbedlabError(Exception):
    """A problem with the user's input, reported as one line and exit status 1.

    The message names the thing (a path, a record, an exercise) and what is
    wrong with it, e.g. ``data.tar.gz: not a gzip or tar archive``.
    """


def first_line(error: BaseException) -> str:
    """An exception's message on one line (its type name if it has none)."""
    text = (getattr(error, "message", None) or str(error)).strip().splitlines()
    return text[0] if text else type(error).__name__
