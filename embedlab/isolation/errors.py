"""The isolation stage's one error: the sandbox cannot run safely here.

Kept apart from `embedlab.isolation.sandbox` (which re-exports it) so that the
stage's lower modules can raise it without importing the public API.
"""

from __future__ import annotations

from embedlab.errors import EmbedlabError


class SandboxError(EmbedlabError):
    """The sandbox cannot run safely here (e.g. the labels would be readable)."""
