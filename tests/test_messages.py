"""Messages that say what to do: every assertion in a locked test cell explains itself, and a
stub names its function, its module and the next step."""
from __future__ import annotations

import ast

import pytest

from tito.core import registry
from tito.core.notebook import _code_for_parser, read_source
from tito.core.stubs import name_cell_stubs, stub_message, unfinished_module

from pipeline_support import ROOT

MODULES = registry.all_modules(ROOT)


def bare_asserts(module) -> list[str]:
    """`grade_id:line: assert …` for each assert without a message in the module's locked test cells."""
    found = []
    for cell in read_source(module.source).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not (meta.get("locked") and meta.get("grade")):
            continue
        for node in ast.walk(ast.parse(_code_for_parser(cell.source))):
            if isinstance(node, ast.Assert) and node.msg is None:
                found.append(f"{meta.get('grade_id')}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def locked_asserts(module) -> int:
    count = 0
    for cell in read_source(module.source).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("locked") and meta.get("grade"):
            count += sum(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(_code_for_parser(cell.source))))
    return count


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.slug)
def test_every_assert_in_a_test_cell_has_a_message(module):
    """A failing test must tell the student what was expected and what came."""
    assert locked_asserts(module) > 0, f"{module.slug} has no asserts in its locked test cells"
    missing = bare_asserts(module)
    assert not missing, f"{module.slug}: {len(missing)} assert(s) without a message:\n" + "\n".join(missing)


def test_the_check_finds_a_bare_assert(tmp_path):
    """The check above can fail: a locked cell with a bare assert is reported."""
    module_dir = tmp_path / "modules" / "source" / "00_demo"
    module_dir.mkdir(parents=True)
    (module_dir / "demo_dev.py").write_text(
        "# %%\n#| default_exp core.demo\n\n"
        '# %% nbgrader={"grade": true, "grade_id": "t", "locked": true, "points": 1, "schema_version": 3, '
        '"solution": false, "task": false}\nassert 1 == 1\nassert 2 == 2, "two is two"\n', encoding="utf-8")
    (demo,) = registry.all_modules(tmp_path)
    assert bare_asserts(demo) == ["t:1: assert 1 == 1"]


def test_a_stub_names_its_function_module_and_next_step():
    source = ("#| export\nclass Variable:\n    def __init__(self, data):\n        # YOUR CODE HERE\n"
              "        raise NotImplementedError()\n\n\ndef add(a, b):\n    raise NotImplementedError()\n\n"
              "raise NotImplementedError()\n")
    named, count = name_cell_stubs(source, "07_autograd", "autograd_dev.ipynb", "basic-ops")
    assert count == 3, named
    namespace: dict = {}
    exec(compile("\n".join(named.splitlines()[:-1]), "<cell>", "exec"), namespace)
    with pytest.raises(NotImplementedError) as err:
        namespace["Variable"](1)
    assert str(err.value) == ("`Variable.__init__` (module 07_autograd) is not implemented yet — finish it in "
                              "modules/source/07_autograd/autograd_dev.ipynb, then `tito export 07`")
    with pytest.raises(NotImplementedError, match=r"^`add` \(module 07_autograd\)"):
        namespace["add"](1, 2)
    assert "`basic-ops` (module 07_autograd)" in named.splitlines()[-1]      # outside any def: the cell
    assert unfinished_module(str(err.value)) == "07_autograd"
    assert unfinished_module("NotImplementedError") is None
    assert stub_message("f", "10_x", "x_dev.ipynb").endswith("`tito export 10`")


def test_a_patched_method_is_named_by_its_class():
    """Modules 01 and 07 teach their classes with fastcore's @patch, one method per cell."""
    source = ("#| export\n@patch\ndef add(self: Tensor, other):\n    raise NotImplementedError()\n\n"
              "@patch(as_prop=True)\ndef T(self: Variable):\n    raise NotImplementedError()\n")
    named, count = name_cell_stubs(source, "01_tensor", "tensor_dev.ipynb", "tensor-arithmetic")
    assert count == 2, named
    assert "'`Tensor.add` (module 01_tensor) is not implemented yet" in named, named
    assert "'`Variable.T` (module 01_tensor)" in named, named


def test_a_stub_with_a_message_already_is_left_alone():
    source = 'def f():\n    raise NotImplementedError("use g instead")\n'
    assert name_cell_stubs(source, "01_tensor", "tensor_dev.ipynb", "c") == (source, 0)
