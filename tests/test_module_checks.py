"""The three checks, for every module in the registry (see tito/core/checks.py)."""
import pytest

from tito.core import registry
from tito.core.checks import check_module

MODULES = registry.all_modules()


@pytest.mark.parametrize("module", MODULES, ids=[m.slug for m in MODULES])
def test_module_passes_the_three_checks(module):
    result = check_module(module)
    assert result.ok, f"{module.slug}:\n" + "\n".join(f"  • {p}" for p in result.problems)
    got, full = result.solution.split("/")
    assert float(got) == float(full) > 0
    assert result.student.startswith("0/")
