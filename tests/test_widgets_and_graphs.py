"""Widgets fall back to a static figure; graphs draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets
import matplotlib.pyplot as plt
import pytest

from course.graphs import Edge, Node, draw_graph
from course.widgets import explore, widgets_are_static


@pytest.fixture
def live(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "0")


def test_static_under_nbgrader(monkeypatch, live):
    assert not widgets_are_static()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert widgets_are_static()


def test_static_when_asked(monkeypatch, live):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    assert widgets_are_static()


def test_static_explore_draws_once_at_the_initial_values(monkeypatch, live):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    calls = []
    result = explore(
        lambda a, b, c: calls.append((a, b, c)),
        a=ipywidgets.FloatSlider(value=0.25),
        b=ipywidgets.Dropdown(options=["x", "y"], value="y"),
        c=3,
    )
    assert result is None
    assert calls == [(0.25, "y", 3)]


def test_live_explore_displays_one_interactive_widget(live, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    calls = []
    result = explore(lambda a: calls.append(a), a=ipywidgets.IntSlider(value=4))
    assert result is None, "a returned widget would be shown twice when a cell ends with explore(...)"
    [widget] = shown
    assert isinstance(widget, ipywidgets.interactive)
    assert calls == [4]
    widget.children[0].value = 6
    assert calls[-1] == 6
    assert widget.children[0].style.description_width == "initial", "labels must not be cut off"


def test_draw_graph_places_labels_and_arrows():
    ax = draw_graph(
        [Node("x", 0, 0, "x", is_operation=False), Node("f", 2, 0, "×"),
         Node("y", 4, 0, "y", is_operation=False)],
        [Edge("x", "f", "3", "2.2"), Edge("f", "y", "6", "1")],
        title="t",
    )
    texts = {t.get_text() for t in ax.texts}
    assert {"x", "×", "y", "3", "2.2", "6", "1"} <= texts
    assert len(ax.patches) == 3  # one circle, two arrows
    plt.close("all")


def test_draw_graph_rejects_unknown_nodes():
    with pytest.raises(KeyError, match="missing"):
        draw_graph([Node("a", 0, 0, "a")], [Edge("a", "missing")])
