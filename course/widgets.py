"""Interactive explorations that degrade to a static figure.

A notebook calls :func:`explore` with a drawing function and ipywidgets
controls. In JupyterLab or Notebook 7 the learner gets sliders; while nbgrader
executes the notebook (``NBGRADER_EXECUTION`` is set during autograde and
validate), or when ``COURSE_STATIC_WIDGETS`` is set, or when ipywidgets is
missing, the drawing function runs once at the controls' initial values, so
the figure still appears in the autograded notebook and in the feedback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["explore", "widgets_are_static"]


def widgets_are_static() -> bool:
    """True where no live widget front end should be assumed.

    Returns
    -------
    bool
        True during nbgrader execution, when ``COURSE_STATIC_WIDGETS`` is set
        to a non-empty value other than ``0``, or when ipywidgets is missing.
    """
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    if os.environ.get("COURSE_STATIC_WIDGETS", "0") not in ("", "0"):
        return True
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return True
    return False


def _initial_value(control: Any) -> Any:
    """The value a control starts at: a widget's ``.value`` or a fixed value."""
    return getattr(control, "value", control)


def explore(draw: Callable[..., Any], **controls: Any) -> None:
    """Show ``draw`` with live controls, or draw it once where widgets cannot run.

    Parameters
    ----------
    draw : callable
        ``draw(**values)`` draws one figure (e.g. with matplotlib) for one set
        of control values.
    **controls
        ipywidgets controls (``FloatSlider``, ``Dropdown``, ...) or fixed
        values, passed to ``draw`` under the same names.

    Returns
    -------
    None
        The live widget is displayed here; returning it too would make a cell
        that ends with ``explore(...)`` show it a second time as its output.
    """
    if widgets_are_static():
        draw(**{name: _initial_value(c) for name, c in controls.items()})
        return None
    import ipywidgets
    from IPython.display import display

    for control in controls.values():
        _show_whole_description(control)
    display(ipywidgets.interactive(draw, **controls))
    return None


def _show_whole_description(control: Any) -> None:
    """Let a control's label take the width it needs ("learning rate", not "learning r...")."""
    style = getattr(control, "style", None)
    if style is not None and hasattr(style, "description_width") and not style.description_width:
        style.description_width = "initial"
