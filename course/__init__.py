"""Shared helpers of the backpropagation course.

Notebooks import what they need in their first cell, e.g.::

    from course.testing import assert_tensor_close, checked_call
    from course.gradcheck import check_gradient, numerical_gradient

Modules
-------
testing
    ``assert_tensor_close``, ``checked_call``: what the tests assert with.
diagnoses
    What relation a wrong array has to the right one (a factor, the opposite sign, a transpose,
    ...), for the messages of ``testing`` and ``gradcheck``.
gradcheck
    ``numerical_gradient``, ``numerical_vjp``, ``check_gradient``.
graphs
    ``draw_graph``: computational graphs with forward values and gradients.
widgets
    ``explore``: ipywidgets that fall back to a static figure when graded.
activation_plots
    An elementwise layer drawn with its derivative and a finite-difference estimate (02).
toy_data
    ``make_moons``, ``make_spirals``: small 2-D classification data sets (04).
decision_plots
    Decision boundaries and loss curves of a 2-D classifier (04).
conv_diagrams
    Which upstream gradients meet which inputs in a strided convolution (06).
pool_diagrams
    Max-pooling windows over an input, and where each window routes its gradient (05).
digits
    ``load_digits``, ``load_digits_split``: the UCI hand-written digits shipped in ``data/`` (07).
probe
    The grader's tripwire inside a graded kernel (run by ``course grade``, never by a notebook).

The grading tools (``course grade``, ``course check``, the nbgrader preprocessors of
``nbgrader_config.py``) are the separate package ``grader``.
"""

__version__ = "0.1.0"
