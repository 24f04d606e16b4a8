"""Seeded generators and mutators of untrusted input, shared by the hardening tests and `ebmlab bench`.

Three kinds of input reach the lab from outside: typed energy expressions, preset files and data files.
This package makes nasty versions of each (pure Python + numpy, seeded, no hypothesis) and classifies what
the lab does with an expression. Presets and data files are only *made* here (as bytes or files in a folder
the caller owns); loading them is the caller's business, so the core does not depend on the config package.

Outcomes are 'ok' (accepted and usable), 'refused' (an EbmlabError with a non-empty message) or 'other'
(anything else: a bug). Nothing here evaluates user text; the generators only build strings and bytes.
"""

from .expressions import *  # noqa: F403
from .files import *  # noqa: F403
from .presets import *  # noqa: F403
