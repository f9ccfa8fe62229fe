"""Plausible mistakes and correct alternatives for 01_computation_graphs.

Entries for ``Value`` subclass the reference (``class Value(Value)``) and
override only the method a student got wrong or wrote differently; every
operation builds its output with the global name ``Value``, so the whole
graph is made of the subclass.
"""

_MUL_LAYER = '''
class MulLayer:
    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return {forward}

    def backward(self, dout):
        {backward}
'''


def _mul_layer(forward="x * y", backward="return dout * self.y, dout * self.x"):
    return _MUL_LAYER.format(forward=forward, backward=backward)


_ADD_LAYER = '''
class AddLayer:
    def forward(self, x, y):
        return {forward}

    def backward(self, dout):
        {backward}
'''


def _add_layer(forward="x + y", backward="return dout, dout"):
    return _ADD_LAYER.format(forward=forward, backward=backward)


_FRUIT_PRICE = '''
def fruit_price(apple, apple_num, orange, orange_num, tax):
    mul_apple, mul_orange = MulLayer(), MulLayer()
    add_fruit, mul_tax = AddLayer(), MulLayer()
    {layers}
    apple_price = mul_apple.forward(apple, apple_num)
    orange_price = mul_orange.forward(orange, orange_num)
    all_price = add_fruit.forward(apple_price, orange_price)
    price = {price}
    dall_price, dtax = mul_tax.backward(1.0)
    dapple_price, dorange_price = add_fruit.backward({dall_price})
    dapple, dapple_num = mul_apple.backward(dapple_price)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    grads = {{"apple": {dapple}, "apple_num": {dapple_num}, "orange": dorange,
             "orange_num": dorange_num, "tax": {dtax}}}
    return price, grads
'''


def _fruit_price(layers="", price="mul_tax.forward(all_price, tax)", dall_price="dall_price",
                 dapple="dapple", dapple_num="dapple_num", dtax="dtax"):
    return _FRUIT_PRICE.format(layers=layers, price=price, dall_price=dall_price,
                               dapple=dapple, dapple_num=dapple_num, dtax=dtax)


def _value_op(name, forward, local_self, local_other=None, parents="(self, other)"):
    """A Value subclass redefining one operation with the given local gradients."""
    other_line = f"            other.grad {local_other}\n" if local_other else ""
    lift = "        other = Value._lift(other)\n" if local_other else ""
    signature = "self, other" if local_other else "self"
    return (
        "class Value(Value):\n"
        f"    def {name}({signature}):\n"
        f"{lift}"
        f"        out = Value({forward}, {parents})\n\n"
        "        def _backward():\n"
        f"            self.grad {local_self}\n"
        f"{other_line}"
        "\n"
        "        out._backward = _backward\n"
        "        return out\n"
    )


_BACKWARD_OVERRIDE = '''
class Value(Value):
    def backward(self):
{body}
'''


def _value_backward(body):
    return _BACKWARD_OVERRIDE.format(body=body)


MUTANTS = {
    "MulLayer": {
        "gradient_uses_own_input": _mul_layer(backward="return dout * self.x, dout * self.y"),
        "chains_dx_into_dy": _mul_layer(backward="dx = dout * self.y\n        dy = dx * self.x\n"
                                                 "        return dx, dy"),
        "ignores_upstream_gradient": _mul_layer(backward="return self.y, self.x"),
        "copy_paste_same_gradient": _mul_layer(backward="return dout * self.y, dout * self.y"),
        "forward_adds": _mul_layer(forward="x + y"),
        "stores_inputs_on_the_class": '''
class MulLayer:
    x = None
    y = None

    def forward(self, x, y):
        MulLayer.x = x
        MulLayer.y = y
        return x * y

    def backward(self, dout):
        return dout * MulLayer.y, dout * MulLayer.x
''',
    },
    "AddLayer": {
        "second_input_gets_nothing": _add_layer(backward="return dout, 0 * dout"),
        "ignores_upstream_gradient": _add_layer(backward="return 1.0, 1.0"),
        "splits_gradient_in_half": _add_layer(backward="return dout / 2, dout / 2"),
        "confused_with_subtraction": _add_layer(backward="return dout, -dout"),
        "returns_one_gradient": _add_layer(backward="return dout"),
        "forward_multiplies": _add_layer(forward="x * y"),
    },
    "fruit_price": {
        "one_mul_layer_for_both_fruits": _fruit_price(layers="mul_orange = mul_apple"),
        "backward_skips_the_tax_node": _fruit_price(dall_price="1.0"),
        "tax_gradient_is_the_price": _fruit_price(dtax="price"),
        "apple_keys_swapped": _fruit_price(dapple="dapple_num", dapple_num="dapple"),
        "tax_forgotten_in_forward": _fruit_price(price="all_price"),
        "tax_gradient_from_total_with_tax": _fruit_price(dtax="all_price * tax"),
    },
    "Value": {
        "assigns_instead_of_accumulating": (
            _value_op("__mul__", "self.data * other.data", "= other.data * out.grad",
                      "= self.data * out.grad")
            + _value_op("__add__", "self.data + other.data", "= out.grad", "= out.grad")
        ),
        "mul_local_gradient_of_wrong_input": _value_op(
            "__mul__", "self.data * other.data", "+= self.data * out.grad",
            "+= other.data * out.grad"),
        "tanh_derivative_from_input": _value_op(
            "tanh", "math.tanh(self.data)", "+= (1 - self.data ** 2) * out.grad",
            parents="(self,)"),
        "exp_derivative_is_input": _value_op(
            "exp", "math.exp(self.data)", "+= self.data * out.grad", parents="(self,)"),
        "relu_gradient_one_at_zero": _value_op(
            "relu", "max(self.data, 0.0)", "+= (1.0 if self.data >= 0 else 0.0) * out.grad",
            parents="(self,)"),
        "pow_derivative_keeps_exponent": '''
class Value(Value):
    def __pow__(self, exponent):
        out = Value(self.data ** exponent, (self,))

        def _backward():
            self.grad += exponent * self.data ** exponent * out.grad

        out._backward = _backward
        return out
''',
        "no_reflected_operators": '''
class Value(Value):
    __radd__ = None
    __rmul__ = None
''',
        "rsub_in_wrong_order": '''
class Value(Value):
    def __rsub__(self, other):
        return self - other
''',
        "rtruediv_in_wrong_order": '''
class Value(Value):
    def __rtruediv__(self, other):
        return self / other
''',
        "neg_without_recording": '''
class Value(Value):
    def __neg__(self):
        return Value(-self.data)
''',
        "truediv_without_recording": '''
class Value(Value):
    def __truediv__(self, other):
        return Value(self.data / Value._lift(other).data)
''',
        "rtruediv_without_recording": '''
class Value(Value):
    def __rtruediv__(self, other):
        return Value(Value._lift(other).data / self.data)
''',
        "sub_adds_the_right_operand": '''
class Value(Value):
    def __sub__(self, other):
        other = Value._lift(other)
        out = Value(self.data - other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out
''',
        "forgets_the_output_grad_of_one": _value_backward('''
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node._parents:
                    visit(parent)
                order.append(node)

        visit(self)
        for node in order:
            node.grad = 0.0
        for node in reversed(order):
            node._backward()
'''),
        "no_topological_order_breadth_first": _value_backward('''
        from collections import deque
        everything, stack = {}, [self]
        while stack:
            node = stack.pop()
            if id(node) not in everything:
                everything[id(node)] = node
                stack.extend(node._parents)
        for node in everything.values():
            node.grad = 0.0
        self.grad = 1.0
        queue, seen = deque([self]), {id(self)}
        while queue:
            node = queue.popleft()
            node._backward()
            for parent in node._parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    queue.append(parent)
'''),
        "preorder_depth_first_without_sort": _value_backward('''
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                order.append(node)
                for parent in node._parents:
                    visit(parent)

        visit(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in order:
            node._backward()
'''),
        "recursive_backward_without_sort": _value_backward('''
        def propagate(node):
            node._backward()
            for parent in node._parents:
                propagate(parent)

        self.grad = 1.0
        propagate(self)
'''),
        "no_reset_between_calls": _value_backward('''
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node._parents:
                    visit(parent)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
'''),
        # Runs without an error and computes nothing: every operation records its parents but holds 0,
        # and backward() only sets the output's grad. Finite differences of this forward are 0 too, so
        # test_value_local_gradients must check against a forward of its own (MUST_FAIL below).
        "zero_forward_backward_sets_only_its_own_grad": '''
class Value:
    def __init__(self, data, _parents=(), _op=""):
        self.data = 0.0
        self.grad = 0.0
        self._parents = tuple(_parents)
        self._backward = lambda: None

    def _node(self, *operands):
        return Value(0.0, (self,) + tuple(o for o in operands if isinstance(o, Value)))

    def __add__(self, other):
        return self._node(other)

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __add__

    def __pow__(self, exponent):
        return self._node()

    def __neg__(self):
        return self._node()

    def exp(self):
        return self._node()

    tanh = relu = exp

    def backward(self):
        self.grad = 1.0
''',
        "resets_only_the_inputs": _value_backward('''
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node._parents:
                    visit(parent)
                order.append(node)

        visit(self)
        for node in order:
            if not node._parents:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
'''),
    },
}

# Mutants whose answer is, by construction, a fixed multiple of the right one; their first failure
# message must name the factor or the sign (course.testing's diagnosis).
# A relation needs two entries with distinct non-zero right values. Not listed, for that reason:
# AddLayer's splits_gradient_in_half and confused_with_subtraction, and Value's
# rsub_in_wrong_order (a - 1 for 1 - a), whose first failures are single numbers (dx or dy of
# AddLayer.backward(2.5), (1 - a).data), which any factor fits; their messages give the value and
# the relative error instead. Nor are the two tax mutants of fruit_price, wrong on a single number.
EXACT_RELATIONS = {
    # Every fruit gradient divided by the tax: one factor on four numbers, which the test compares
    # together.
    "fruit_price": {"backward_skips_the_tax_node": "scale"},
    # (c + 1) / 2 at three points with distinct right values
    "dout_dh": {"averages_the_paths": "scale"},
}

# Mutants that a named test cell must fail by itself, whatever the cells before it do: the harness stops
# at the first failing cell, and a cell that passed one of these would give its points to it.
MUST_FAIL = {
    "Value": {"zero_forward_backward_sets_only_its_own_grad": ["test_value_local_gradients"]},
}

CORRECT_VARIANTS = {
    "MulLayer": {
        "stores_a_tuple": '''
class MulLayer:
    def forward(self, x, y):
        self.inputs = (x, y)
        return np.multiply(x, y)

    def backward(self, dout):
        x, y = self.inputs
        return np.multiply(dout, y), np.multiply(dout, x)
''',
        "copies_array_inputs": '''
class MulLayer:
    def forward(self, x, y):
        self.x = np.copy(x) if isinstance(x, np.ndarray) else x
        self.y = np.copy(y) if isinstance(y, np.ndarray) else y
        return self.x * self.y

    def backward(self, dout):
        dx = self.y * dout
        dy = self.x * dout
        return dx, dy
''',
    },
    "AddLayer": {
        "numpy_add_and_copies": '''
class AddLayer:
    def forward(self, x, y):
        return np.add(x, y)

    def backward(self, dout):
        return np.copy(dout) if isinstance(dout, np.ndarray) else dout, dout
''',
        "ones_like_times_dout": '''
class AddLayer:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        local = np.ones_like(dout) if isinstance(dout, np.ndarray) else 1.0
        return local * dout, local * dout
''',
    },
    "fruit_price": {
        "layers_in_a_list": '''
def fruit_price(apple, apple_num, orange, orange_num, tax):
    layers = [MulLayer(), MulLayer(), AddLayer(), MulLayer()]
    a = layers[0].forward(apple, apple_num)
    o = layers[1].forward(orange, orange_num)
    total = layers[2].forward(a, o)
    price = layers[3].forward(total, tax)
    dtotal, dtax = layers[3].backward(1)
    da, do = layers[2].backward(dtotal)
    grads = dict(zip(("apple", "apple_num"), layers[0].backward(da)))
    grads.update(zip(("orange", "orange_num"), layers[1].backward(do)))
    grads["tax"] = dtax
    return price, grads
''',
        "closed_form": '''
def fruit_price(apple, apple_num, orange, orange_num, tax):
    total = apple * apple_num + orange * orange_num
    grads = {"apple": apple_num * tax, "apple_num": apple * tax,
             "orange": orange_num * tax, "orange_num": orange * tax, "tax": total}
    return total * tax, grads
''',
    },
    "Value": {
        "iterative_depth_first_sort": _value_backward('''
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._parents)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
'''),
        "kahn_in_degree_order": _value_backward('''
        nodes, stack = {}, [self]
        while stack:
            node = stack.pop()
            if id(node) not in nodes:
                nodes[id(node)] = node
                stack.extend(node._parents)
        users = {key: 0 for key in nodes}
        for node in nodes.values():
            for parent in node._parents:
                users[id(parent)] += 1
        for node in nodes.values():
            node.grad = 0.0
        self.grad = 1.0
        ready = [self]
        while ready:
            node = ready.pop()
            node._backward()
            for parent in node._parents:
                users[id(parent)] -= 1
                if users[id(parent)] == 0:
                    ready.append(parent)
'''),
        "own_nodes_for_sub_and_div": '''
class Value(Value):
    def __sub__(self, other):
        other = Value._lift(other)
        out = Value(self.data - other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = Value._lift(other)
        out = Value(self.data / other.data, (self, other))

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / other.data ** 2

        out._backward = _backward
        return out

    def __rsub__(self, other):
        return Value(other) - self

    def __rtruediv__(self, other):
        return Value(other) / self
''',
    },
}


# ----------------------------------------------------------------------------- derivation exercises


# The parameters of each derivation answer, as the notebook's stub declares them.
_PARAMETERS = {
    "mul_local_gradients": "x, y",
    "add_local_gradients": "x, y",
    "price_gradients": "apple, apple_num, orange, orange_num, tax",
    "dout_dh": "a, b, c",
    "dout_da": "a, b, c",
    "pow_local_gradient": "a, n",
    "tanh_local_gradient": "y",
}


def _derived(name, body):
    """A derivation answer: ``def name(parameters): return body``."""
    return f"\ndef {name}({_PARAMETERS[name]}):\n    return {body}\n"


_TOTAL = "apple * apple_num + orange * orange_num"

DERIVATION_MUTANTS = {
    "mul_local_gradients": {
        "own_input_instead_of_other": _derived("mul_local_gradients", "np.array([x, y])"),
        "the_output_for_both": _derived("mul_local_gradients", "np.array([x * y, x * y])"),
        "addition_rule_by_mistake": _derived("mul_local_gradients", "np.array([1.0, 1.0])"),
        "same_slope_for_both": _derived("mul_local_gradients", "np.array([y, y])"),
    },
    "add_local_gradients": {
        "multiplication_rule_by_mistake": _derived("add_local_gradients", "np.array([y, x])"),
        "split_in_half": _derived("add_local_gradients", "np.array([0.5, 0.5])"),
        "subtraction_sign": _derived("add_local_gradients", "np.array([1.0, -1.0])"),
        "second_input_gets_nothing": _derived("add_local_gradients", "np.array([1.0, 0.0])"),
    },
    "price_gradients": {
        "skips_the_tax_node": _derived(
            "price_gradients", f"np.array([apple_num, apple, orange_num, orange, {_TOTAL}])"),
        "own_input_instead_of_other": _derived(
            "price_gradients",
            f"np.array([apple * tax, apple_num * tax, orange * tax, orange_num * tax, {_TOTAL}])"),
        "tax_gradient_is_the_price": _derived(
            "price_gradients",
            f"np.array([apple_num * tax, apple * tax, orange_num * tax, orange * tax, ({_TOTAL}) * tax])"),
        "addition_splits_in_half": _derived(
            "price_gradients",
            "np.array([apple_num * tax / 2, apple * tax / 2, orange_num * tax / 2, orange * tax / 2, "
            f"{_TOTAL}])"),
    },
    "dout_dh": {
        "only_the_multiplication_path": _derived("dout_dh", "c"),
        "only_the_addition_path": _derived("dout_dh", "1.0"),
        "averages_the_paths": _derived("dout_dh", "(c + 1.0) / 2"),
    },
    "dout_da": {
        "only_the_multiplication_path": _derived("dout_da", "b * c"),
        "only_the_addition_path": _derived("dout_da", "b"),
        "own_input_instead_of_other": _derived("dout_da", "a * (c + 1.0)"),
        "stops_at_h": _derived("dout_da", "c + 1.0"),
    },
    "pow_local_gradient": {
        "forgets_the_factor_n": _derived("pow_local_gradient", "a ** (n - 1)"),
        "keeps_the_exponent": _derived("pow_local_gradient", "n * a ** n"),
        "second_derivative": _derived("pow_local_gradient", "n * (n - 1) * a ** (n - 2)"),
    },
    "tanh_local_gradient": {
        "forgets_the_square": _derived("tanh_local_gradient", "1.0 - y"),
        "sigmoid_form_by_mistake": _derived("tanh_local_gradient", "y * (1.0 - y)"),
        "square_outside": _derived("tanh_local_gradient", "(1.0 - y) ** 2"),
        "treats_y_as_the_input": _derived("tanh_local_gradient", "1.0 - math.tanh(y) ** 2"),
    },
}

DERIVATION_VARIANTS = {
    "mul_local_gradients": {
        "floats_in_a_list": _derived("mul_local_gradients", "np.array([float(y), float(x)])"),
        "flipped_inputs": _derived("mul_local_gradients", "np.flip(np.array([x, y]))"),
    },
    "add_local_gradients": {
        "ones": _derived("add_local_gradients", "np.ones(2)"),
        "integers": _derived("add_local_gradients", "np.array([1, 1])"),
    },
    "price_gradients": {
        "tax_factored_out": _derived(
            "price_gradients",
            f"np.append(tax * np.array([apple_num, apple, orange_num, orange]), {_TOTAL})"),
        "through_the_layers": '''
def price_gradients(apple, apple_num, orange, orange_num, tax):
    apple_node, orange_node, add_node, tax_node = MulLayer(), MulLayer(), AddLayer(), MulLayer()
    total = add_node.forward(apple_node.forward(apple, apple_num), orange_node.forward(orange, orange_num))
    tax_node.forward(total, tax)
    dtotal, dtax = tax_node.backward(1.0)
    dapple_price, dorange_price = add_node.backward(dtotal)
    return np.array([*apple_node.backward(dapple_price), *orange_node.backward(dorange_price), dtax])
''',
    },
    "dout_dh": {
        "one_plus_c": _derived("dout_dh", "1 + c"),
        "sum_of_the_two_uses": _derived("dout_dh", "1.0 * c + 1.0 * 1.0"),
    },
    "dout_da": {
        "expanded": _derived("dout_da", "b * c + b"),
        "factor_first": _derived("dout_da", "(1 + c) * b"),
    },
    "pow_local_gradient": {
        "divided_by_a": _derived("pow_local_gradient", "n * a ** n / a"),
        "math_pow": _derived("pow_local_gradient", "n * math.pow(a, n - 1)"),
    },
    "tanh_local_gradient": {
        "factored": _derived("tanh_local_gradient", "(1 - y) * (1 + y)"),
        "y_times_y": _derived("tanh_local_gradient", "1 - y * y"),
    },
}

MUTANTS.update(DERIVATION_MUTANTS)
CORRECT_VARIANTS.update(DERIVATION_VARIANTS)
