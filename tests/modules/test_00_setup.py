"""Package tests for module 00 (tinytorch.core.setup)."""
import os
import platform

from tinytorch.core.setup import personal_info, system_info, total_memory_bytes


def test_personal_info_has_the_five_string_fields():
    info = personal_info()
    assert set(info) == {"developer", "email", "institution", "system_name", "version"}
    assert all(isinstance(v, str) and v.strip() for v in info.values())
    assert "@" in info["email"]


def test_system_info_matches_the_standard_library():
    facts = system_info()
    assert facts["python_version"] == platform.python_version()
    assert facts["platform"] == platform.system()
    assert facts["architecture"] == platform.machine()
    assert facts["cpu_count"] == (os.cpu_count() or 1) and isinstance(facts["cpu_count"], int)
    assert isinstance(facts["memory_gb"], float)
    assert facts["memory_gb"] == round(total_memory_bytes() / 1024**3, 1)


def test_total_memory_is_plausible():
    assert total_memory_bytes() > 256 * 1024**2   # any machine that runs the course has 256 MiB
