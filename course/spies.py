"""Objects a test hands to the student's code to watch what it does with them.

A spy must live where the student's code runs: the student's ``train`` calls ``model.loss`` back, and
the judge (``grader.judge``), which decides the tests in a process of its own, sends the student's
code nothing but data and the student's own objects. So a spy is a class of this package marked
:data:`KERNEL_SIDE`: where the judge runs a test cell, the name the setup cell bound to it stands
for the same class in the student's kernel (``grader.judge.cells.judge_namespace``); ``SpyModel()``
then makes the spy there, and what it recorded comes back by value. In one process (the student's
own notebook, plain ``nbgrader autograde``) it is an ordinary class.

What a spy records is observed in the student's kernel, so, like every kernel-reported fact, it is
advisory: a kernel that cheats can forge it (docs/grading.md, "The judge").
"""

from __future__ import annotations

import numpy as np

from course.gradcheck import numerical_gradient

__all__ = ["KERNEL_SIDE", "SpyModel"]

#: The class attribute that marks a class whose instances the judge makes in the student's kernel.
KERNEL_SIDE = "made_in_the_students_kernel"


class SpyModel:
    """A model for ``train``: loss = mean over the batch of 0.5 * |theta - x_n|^2; records every call.

    Attributes
    ----------
    params : dict of str to ndarray
        ``"theta"``, shape (3,), zeros; ``"c"``, shape (1,), ``[1.0]`` (its gradient is always 2).
    seen : list of (ndarray, ndarray)
        Copies of every batch ``loss`` received: inputs, shape (B, 3), and labels, shape (B,).
    returned : list of float
        The loss returned for each batch, at the ``theta`` of that moment.
    gradients : list of dict of str to ndarray
        Copies of the gradients returned for each batch.
    """

    made_in_the_students_kernel = True

    def __init__(self):
        self.params = {"theta": np.zeros(3), "c": np.array([1.0])}
        self.seen, self.returned, self.gradients = [], [], []

    def loss(self, x, y):
        """The loss of batch ``x`` (shape (B, 3)) at the current ``theta``, and its gradients."""
        self.seen.append((x.copy(), np.asarray(y).copy()))

        def mean_distance(theta):
            return float(0.5 * np.mean(np.sum((theta - x) ** 2, axis=1)))

        grads = {"theta": numerical_gradient(mean_distance, self.params["theta"].copy()),
                 "c": np.array([2.0])}
        self.returned.append(mean_distance(self.params["theta"]))
        self.gradients.append({key: g.copy() for key, g in grads.items()})
        return self.returned[-1], grads
