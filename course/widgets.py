"""Interactive explorations that leave a picture wherever no widget front end runs.

A notebook calls :func:`explore` with a drawing function and ipywidgets
controls. What it shows depends on where the kernel runs:

**Live** (JupyterLab, Notebook 7, VS Code: any client that can answer
``input()``, or any kernel a Jupyter server started). :func:`explore` draws the
figure once at the controls' initial values and displays **one** output that
holds two representations of it:

* the live widget (``application/vnd.jupyter.widget-view+json``): the
  controls above an output area that shows the figure and is redrawn whenever
  a control moves. A widget-capable front end prefers the widget view to every
  other type in a bundle, so JupyterLab with ipywidgets 8 shows this;
* a static ``image/png`` of the figure at the initial values (and a
  ``text/plain`` line), which every front end without widgets shows instead:
  GitHub, nbviewer, a terminal, or an HTML export of a notebook saved from
  JupyterLab without widget state. Nobody sees ``interactive(children=...``.

**Static** (no widget is built; ``draw`` runs once as ordinary notebook code,
so its figure is a plain ``image/png`` output):

* while nbgrader executes the notebook (``NBGRADER_EXECUTION`` is set during
  autograde and validate), so the feedback shows every figure;
* when ``COURSE_STATIC_WIDGETS`` is set to anything but ``""`` or ``"0"``;
* outside a kernel (plain Python, terminal IPython), and in a kernel run
  headless: one that no Jupyter server started (``JPY_SESSION_NAME`` unset)
  and whose client cannot answer ``input()`` (``allow_stdin`` false), which is
  how nbclient runs it for ``jupyter nbconvert --execute``, papermill and
  nbclient itself. Such a run has no front end to move a slider, and a widget
  in it would be saved with its state, so an HTML export would draw it with
  the jupyter-widgets JavaScript from a CDN instead of an ``<img>``.

``COURSE_STATIC_WIDGETS=0`` forces the live path everywhere (for tests, or a
headless client that does render widgets, such as Voila). ipywidgets is a core
dependency of the course, so there is no fallback for it missing.
"""

from __future__ import annotations

import base64
import io
import os
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["explore", "widgets_are_static"]


def widgets_are_static() -> bool:
    """True where :func:`explore` should draw a plain figure and build no widget.

    Returns
    -------
    bool
        True during nbgrader execution (``NBGRADER_EXECUTION`` set), when
        ``COURSE_STATIC_WIDGETS`` is set to a value other than ``""`` or
        ``"0"``, and, unless ``COURSE_STATIC_WIDGETS`` is ``"0"``, where no
        widget front end can be attached (see the module docstring).
    """
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    setting = os.environ.get("COURSE_STATIC_WIDGETS", "")
    if setting == "0":
        return False
    if setting:
        return True
    return _runs_headless()


def _runs_headless() -> bool:
    """True outside a kernel, or in a kernel run by a client without a front end.

    A Jupyter server (JupyterLab, Notebook 7) sets ``JPY_SESSION_NAME`` in the
    kernels it starts; front ends send ``allow_stdin: true`` with every cell,
    while nbclient (behind nbconvert and papermill) sends ``false``.
    """
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return True
    if os.environ.get("JPY_SESSION_NAME"):
        return False
    try:
        request = kernel.get_parent()
    except Exception:  # an ipykernel without get_parent: assume a front end
        return False
    return (request or {}).get("content", {}).get("allow_stdin", True) is False


def _initial_value(control: Any) -> Any:
    """The value a control starts at: a widget's ``.value`` or a fixed value."""
    return getattr(control, "value", control)


def _figure_output(figure: Any) -> dict:
    """One matplotlib figure as an nbformat ``display_data`` output holding a PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return {"output_type": "display_data",
            "data": _json_data({"image/png": buffer.getvalue(), "text/plain": repr(figure)}), "metadata": {}}


def _json_data(data: dict) -> dict:
    """A display's data as nbformat stores it: binary types (a PNG's bytes) in base64."""
    return {mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
            for mime, value in data.items()}


def _render(draw: Callable[..., Any], values: dict[str, Any]) -> list[dict]:
    """Run ``draw(**values)`` and return what it showed, as nbformat outputs.

    Output is captured, not displayed: ``plt.show()`` under the inline backend
    displays the figure (captured as a rich output), and figures that ``draw``
    opened but did not show are saved as PNG here. Every figure ``draw`` opened
    is closed, so the inline backend does not show it a second time at the end
    of the cell.

    Parameters
    ----------
    draw : callable
        The drawing function.
    values : dict
        Keyword arguments for ``draw``.

    Returns
    -------
    list of dict
        nbformat outputs (``stream`` and ``display_data``), in the order shown.
    """
    import matplotlib.pyplot as plt
    from IPython.utils.capture import capture_output

    open_before = set(plt.get_fignums())
    try:
        with capture_output() as captured:
            draw(**values)
        outputs: list[dict] = []
        if captured.stdout:
            outputs.append({"output_type": "stream", "name": "stdout", "text": captured.stdout})
        if captured.stderr:
            outputs.append({"output_type": "stream", "name": "stderr", "text": captured.stderr})
        for shown in captured.outputs:
            outputs.append({"output_type": "display_data", "data": _json_data(shown.data),
                            "metadata": dict(shown.metadata or {})})
        for number in sorted(set(plt.get_fignums()) - open_before):
            outputs.append(_figure_output(plt.figure(number)))
        return outputs
    finally:
        for number in set(plt.get_fignums()) - open_before:
            plt.close(number)


def _error_output() -> dict:
    """The exception being handled, as an nbformat ``stream`` output on stderr."""
    return {"output_type": "stream", "name": "stderr", "text": traceback.format_exc()}


def explore(draw: Callable[..., Any], **controls: Any) -> None:
    """Show ``draw`` with live controls, and a static picture for front ends without widgets.

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
        The exploration is displayed here; returning the widget too would make
        a cell that ends with ``explore(...)`` show it a second time.

    Raises
    ------
    Exception
        Whatever ``draw`` raises at the initial values (for example
        ``NotImplementedError`` while a TODO it needs is unfilled). Errors of
        later redraws are shown in the widget's output area instead.
    """
    if widgets_are_static():
        draw(**{name: _initial_value(c) for name, c in controls.items()})
        return None
    import ipywidgets
    from IPython.display import display

    live = {name: c for name, c in controls.items() if isinstance(c, ipywidgets.ValueWidget)}

    def current_values() -> dict[str, Any]:
        return {name: _initial_value(c) for name, c in controls.items()}

    first = _render(draw, current_values())
    area = ipywidgets.Output(outputs=tuple(first))

    def redraw(_change: Any = None) -> None:
        try:
            area.outputs = tuple(_render(draw, current_values()))
        except Exception:
            area.outputs = (_error_output(),)

    for control in live.values():
        _show_whole_description(control)
        control.observe(redraw, names="value")
    # The class "widget-interact" styles the box like ipywidgets' own interact.
    box = ipywidgets.VBox([*live.values(), area], _dom_classes=["widget-interact"])

    bundle = dict(box._repr_mimebundle_())
    bundle["text/plain"] = (
        f"[exploration {getattr(draw, '__name__', 'draw')}: run the notebook in JupyterLab to "
        "move its controls]"
    )
    picture = next((o["data"]["image/png"] for o in first
                    if o["output_type"] == "display_data" and "image/png" in o["data"]), None)
    if picture is not None:
        bundle["image/png"] = picture
    display(bundle, raw=True)
    return None


def _show_whole_description(control: Any) -> None:
    """Let a control's label take the width it needs ("learning rate", not "learning r...")."""
    style = getattr(control, "style", None)
    if style is not None and hasattr(style, "description_width") and not style.description_width:
        style.description_width = "initial"

