"""A policy's opinion on one arrival (``router/policies/admission.py`` explains the chain).

A module of its own so ``admission.py`` can be compiled (``setup.py``): mypyc builds a
class with a custom metaclass without its class keywords, and this Struct needs
``frozen=True, gc=False``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["Verdict", "VerdictKind"]

VerdictKind = Literal["rejected", "deflected", "callback", "blocked", "overflow", "shed"]


class Verdict(msgspec.Struct, frozen=True, gc=False):
    """A policy's opinion on one arrival. ``target``: overflow queue, or inquiry id to shed."""

    outcome: VerdictKind
    reason: str
    target: str = ""
