"""Explorations: live widget plus a static picture; graphs draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import base64

import ipywidgets
import matplotlib.pyplot as plt
import nbformat
import pytest
from nbclient import NotebookClient

from course.graphs import Edge, Node, draw_graph, recorded_graph
from course.widgets import explore, widgets_are_static

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_SIGNATURE = b"\x89PNG"


@pytest.fixture
def live(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "0")


@pytest.fixture
def shown(monkeypatch):
    """What explore displays, as (bundle, raw) pairs, instead of sending it to a front end."""
    import IPython.display

    displayed = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda *objects, raw=False: displayed.extend((o, raw) for o in objects))
    return displayed


def shown_widget(bundle):
    """The widget a displayed bundle's widget view refers to."""
    from ipywidgets.widgets.widget import _instances  # Widget.widgets is deprecated in ipywidgets 8

    return _instances[bundle[WIDGET_VIEW]["model_id"]]


def test_static_under_nbgrader(monkeypatch, live):
    assert not widgets_are_static()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert widgets_are_static()


def test_static_when_asked(monkeypatch, live):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    assert widgets_are_static()


def test_static_outside_a_kernel_unless_forced(monkeypatch, live):
    monkeypatch.delenv("COURSE_STATIC_WIDGETS")
    assert widgets_are_static(), "plain Python has no widget front end"
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "0")
    assert not widgets_are_static()


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


def draw_line(slope, label="fixed"):
    figure, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, slope])
    ax.set_title(label)


def pictures(outputs):
    return [o["data"]["image/png"] for o in outputs
            if o["output_type"] == "display_data" and "image/png" in o["data"]]


def test_live_explore_shows_one_bundle_with_the_widget_and_a_static_picture(live, shown):
    slider = ipywidgets.FloatSlider(value=0.5, description="slope")
    result = explore(draw_line, slope=slider, label="fixed")
    assert result is None, "a returned widget would be shown twice when a cell ends with explore(...)"
    [(bundle, raw)] = shown
    assert raw and set(bundle) == {WIDGET_VIEW, "image/png", "text/plain"}
    assert "interactive(" not in bundle["text/plain"]
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_SIGNATURE)
    box = shown_widget(bundle)
    assert "widget-interact" in box._dom_classes
    assert box.children[0] is slider and slider.style.description_width == "initial", (
        "labels must not be cut off")
    area = box.children[-1]
    assert pictures(area.outputs) == [bundle["image/png"]], "the widget starts with the same picture"
    assert not plt.get_fignums(), "explore must close its figures, or the cell would show them again"


def test_moving_a_control_redraws_the_picture(live, shown):
    calls = []

    def draw(slope, label):
        calls.append((slope, label))
        draw_line(slope, label)

    slider = ipywidgets.FloatSlider(value=0.5)
    explore(draw, slope=slider, label="fixed")
    area = shown_widget(shown[0][0]).children[-1]
    before = pictures(area.outputs)
    slider.value = 0.75
    assert calls == [(0.5, "fixed"), (0.75, "fixed")], "draw runs once at first, then once per move"
    after = pictures(area.outputs)
    assert len(after) == 1 and after != before


def test_an_error_while_redrawing_shows_in_the_widget(live, shown):
    def draw(slope):
        if slope > 1:
            raise ValueError("slope too steep")
        draw_line(slope)

    slider = ipywidgets.FloatSlider(value=0.5, max=2)
    explore(draw, slope=slider)
    area = shown_widget(shown[0][0]).children[-1]
    slider.value = 1.5
    [error] = area.outputs
    assert error["name"] == "stderr" and "slope too steep" in error["text"]


def test_an_error_at_the_initial_values_is_raised(live, shown):
    def draw(slope):
        raise NotImplementedError

    with pytest.raises(NotImplementedError):
        explore(draw, slope=ipywidgets.FloatSlider())
    assert not shown


EXPLORATION_CELL = """
import ipywidgets as widgets
import matplotlib.pyplot as plt
from course.widgets import explore

def draw(slope):
    plt.plot([0, 1], [0, slope])
    plt.show()

explore(draw, slope=widgets.FloatSlider(value=0.5))
"""


def run_in_a_kernel(source):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return notebook.cells[0].outputs


@pytest.mark.parametrize("setting", [None, "0"], ids=["headless", "forced_live"])
def test_an_exploration_run_by_nbclient_leaves_a_picture(monkeypatch, setting):
    """nbconvert --execute and nbviewer show an image/png, never "interactive(children=..."."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    if setting is None:
        monkeypatch.delenv("COURSE_STATIC_WIDGETS", raising=False)
    else:
        monkeypatch.setenv("COURSE_STATIC_WIDGETS", setting)
    outputs = run_in_a_kernel(EXPLORATION_CELL)
    assert [o["output_type"] for o in outputs] == ["display_data"], outputs
    [output] = outputs
    assert base64.b64decode(output["data"]["image/png"]).startswith(PNG_SIGNATURE)
    assert "interactive(" not in output["data"]["text/plain"]
    # Headless, no widget is built (so an HTML export shows an <img>); forced live, the one
    # output carries the widget for front ends that render it.
    assert (WIDGET_VIEW in output["data"]) == (setting == "0")


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


class Scalar:
    """The attributes recorded_graph reads, as notebook 01's Value has them."""

    def __init__(self, data, grad=0.0, parents=(), op=""):
        self.data, self.grad, self._parents, self._op = data, grad, tuple(parents), op


def test_recorded_graph_lays_out_every_node_with_arrows_pointing_right():
    a, b = Scalar(2.0, grad=6.0), Scalar(5.0, grad=2.0)
    product = Scalar(10.0, grad=1.0, parents=(a, b), op="*")
    minus_one, three = Scalar(-1.0), Scalar(3.0)
    negated = Scalar(-3.0, grad=1.0, parents=(three, minus_one), op="*")
    total = Scalar(7.0, grad=1.0, parents=(product, a, negated), op="+")
    nodes, edges = recorded_graph(total, names={id(a): "a"})
    by_name = {n.name: n for n in nodes}
    assert len(by_name) == len(nodes) == 8, "one node per Scalar, plus the end of the output"
    assert {n.label for n in nodes} == {"a", "5", "*", "3", "-1", "+", "out"}
    assert {n.label for n in nodes if n.is_operation} == {"*", "+"}
    assert all(by_name[e.target].x > by_name[e.source].x for e in edges), "every arrow points right"
    [from_a] = [e for e in edges if e.source == str(id(a)) and e.target == str(id(product))]
    assert (from_a.forward, from_a.backward) == ("2", "6")
    assert by_name[str(id(negated))].x == by_name[str(id(total))].x - 1.6, (
        "a constant part stands next to its user")
    draw_graph(nodes, edges)
    plt.close("all")
