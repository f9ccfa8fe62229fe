"""``python -m grader.worker.nbgrader_main ARGS``: nbgrader's command line, started faster.

The same application as ``python -m nbgrader ARGS``, minus one slow optional import (see
:func:`skip_slow_optional_imports`). ``course check`` runs it in a subprocess; a grading task does not
run it at all (its zygote forks nbgrader's ``main`` after calling :func:`skip_slow_optional_imports`).
"""

from __future__ import annotations

import sys

__all__ = ["skip_slow_optional_imports"]

# jsonschema imports these only if they are installed, to check string formats
# that nbformat's notebook schema never uses
SLOW_OPTIONAL_MODULES = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Make jsonschema's optional ``rfc3987_syntax`` import fail fast.

    ``jsonschema`` (imported by ``nbformat``) imports ``rfc3987_syntax``,
    when installed, to check the ``iri`` string format; importing it builds
    a parser and took 1.6 s here (``python -X importtime -c "import
    nbgrader.api"``), paid by every grading task. A ``None`` entry in
    ``sys.modules`` makes that import raise ``ImportError``, which jsonschema
    expects; notebook validation never checks the ``iri`` format. Call it
    before anything imports jsonschema; it changes nothing once a module is
    imported.
    """
    for name in SLOW_OPTIONAL_MODULES:
        sys.modules.setdefault(name, None)


if __name__ == "__main__":
    skip_slow_optional_imports()
    from nbgrader.apps.nbgraderapp import main

    main()
