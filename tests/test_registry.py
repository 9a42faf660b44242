"""The module registry: folder names are the only list of modules."""
import re

import pytest

from tito.core import registry
from tito.core.settings import TitoError


def test_registry_is_the_folder_list(repo_root):
    folders = sorted(p.name for p in (repo_root / "modules" / "source").iterdir()
                     if p.is_dir() and re.fullmatch(r"\d\d_[a-z][a-z0-9_]*", p.name))
    assert [m.slug for m in registry.all_modules(repo_root)] == folders
    assert folders[:1] == ["00_setup"]


@pytest.mark.parametrize("name", ["0", "00", "setup", "00_setup", " Setup "])
def test_a_module_has_many_names(repo_root, name):
    assert registry.resolve(name, repo_root).slug == "00_setup"


def test_every_module_resolves_by_number_name_and_folder(repo_root):
    for module in registry.all_modules(repo_root):
        for name in (str(module.number), f"{module.number:02d}", module.name, module.slug):
            assert registry.resolve(name, repo_root) == module


def test_unknown_module_lists_the_valid_ones(repo_root):
    with pytest.raises(TitoError) as err:
        registry.resolve("transformers", repo_root)
    message = str(err.value)
    assert "transformers" in message
    for module in registry.all_modules(repo_root):
        assert module.slug in message


def test_select_needs_names_or_all(repo_root):
    with pytest.raises(TitoError, match="--all"):
        registry.select([], False, repo_root)
    with pytest.raises(TitoError, match="not both"):
        registry.select(["00"], True, repo_root)
    assert registry.select(["0", "setup"], False, repo_root) == [registry.resolve("00", repo_root)]


def test_every_module_has_its_source_tests_and_export_target(repo_root):
    for module in registry.all_modules(repo_root):
        assert module.source.is_file(), f"{module.slug}: missing {module.source.name}"
        assert module.tests.is_file(), f"{module.slug}: missing {module.tests.relative_to(repo_root)}"
        assert module.export_target() == f"core.{module.name}", f"{module.slug}: default_exp should be core.{module.name}"
