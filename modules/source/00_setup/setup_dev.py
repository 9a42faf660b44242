# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 00 — Setup: your workspace and the course workflow
#
# Welcome to TinyTorch. Over the next modules you will build a small deep-learning framework —
# tensors, layers, automatic differentiation, optimizers, a training loop — and use it to train a
# network on real handwritten digits.
#
# **Goals of this module**
# - Learn the rhythm every module follows: read, implement between the `TODO` markers, run the tests.
# - Write your first two functions and see them land in the `tinytorch` package.
# - Check the machine you are working on.

# %% [markdown]
# ## How a module works
#
# Each notebook is one lesson. Cells come in three kinds:
#
# 1. **Explanations** like this one.
# 2. **Your code**: cells with a `TODO`. Replace the `raise NotImplementedError()` line with your
#    implementation. Cells that start with `#| export` are copied into the `tinytorch` package when
#    you run `tito export`.
# 3. **Tests**: locked cells that check your work. Run them after you implement; they are graded.
#
# From a terminal in your workspace (or a notebook cell starting with `!`):
#
# ```bash
# tito export 00     # copy your exported cells into tinytorch/core/setup.py
# tito test 00       # run this module's tests against your package
# ```

# %% [markdown]
# ### In JupyterLab
#
# Run `tito lab` in your workspace folder to open the notebooks in JupyterLab.
#
# - **File → New → Terminal** opens a terminal in the workspace folder: type `tito export 00` and
#   `tito test 00` there. A notebook cell `!tito export 00` works too.
# - The **Validate** button in the notebook toolbar saves the notebook, runs it from top to bottom
#   and checks every test cell: the same check as `tito test 00`.
# - Test cells are locked: you can run them, not edit them.

# %%
#| default_exp core.setup

# %%
#| export
import os
import platform
import sys

# %% [markdown]
# ## Step 1 — Introduce yourself
#
# `personal_info()` returns a dictionary describing who built this copy of TinyTorch. It is
# exported into your package (`tinytorch.core.setup`), so the framework you build carries your name.
#
# It must have exactly these keys, all strings:
#
# | key | example |
# |---|---|
# | `developer` | `"Ada Lovelace"` |
# | `email` | `"ada@example.org"` (must contain `@`) |
# | `institution` | `"Analytical Engine University"` |
# | `system_name` | a name for your framework, e.g. `"AdaTorch"` |
# | `version` | `"1.0.0"` |

# %% nbgrader={"grade": false, "grade_id": "personal-info", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def personal_info():
    """Who built this copy of TinyTorch: developer, email, institution, system_name, version."""
    # TODO: return a dict with the five keys from the table above, filled with your details.
    # HINT: a literal dict is all you need: {"developer": "...", ...}
    ### BEGIN SOLUTION
    return {
        "developer": "TinyTorch Instructors",
        "email": "instructors@tinytorch.example",
        "institution": "TinyTorch Course",
        "system_name": "TinyTorch",
        "version": "1.0.0",
    }
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-personal-info", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
info = personal_info()
assert isinstance(info, dict), "personal_info() should return a dict"
expected_keys = {"developer", "email", "institution", "system_name", "version"}
assert set(info) == expected_keys, f"keys should be {sorted(expected_keys)}, got {sorted(info)}"
for key, value in info.items():
    assert isinstance(value, str) and value.strip(), f"{key!r} should be a non-empty string"
assert "@" in info["email"], "email should contain '@'"
print("✅ personal_info() looks good:", info["developer"], "—", info["system_name"])
### BEGIN HIDDEN TESTS
assert info["email"].count("@") == 1 and not info["email"].startswith("@"), \
    f"email should have exactly one '@' with a name before it, got {info['email']!r}"
assert personal_info() == personal_info(), "personal_info() should return the same details every call"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2 — Know your machine
#
# Training speed depends on the machine: how many CPU cores NumPy can use and how much memory
# holds your data. `system_info()` gathers these facts with the standard library:
#
# - `python_version` — `"3.11.7"`: `platform.python_version()`
# - `platform` — `"Linux"`, `"Darwin"` or `"Windows"`: `platform.system()`
# - `architecture` — `"x86_64"` or `"arm64"`: `platform.machine()`
# - `cpu_count` — an `int`: `os.cpu_count()`
# - `memory_gb` — a `float`, total memory in GiB, rounded to one decimal: use the helper below.

# %%
#| export
def total_memory_bytes():
    """Total physical memory in bytes, or 0 when the operating system won't say."""
    try:  # Linux and macOS
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        pass
    if sys.platform == "win32":
        import ctypes

        class MemoryStatus(ctypes.Structure):
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                        ("total", ctypes.c_ulonglong), ("available", ctypes.c_ulonglong),
                        ("total_page", ctypes.c_ulonglong), ("available_page", ctypes.c_ulonglong),
                        ("total_virtual", ctypes.c_ulonglong), ("available_virtual", ctypes.c_ulonglong),
                        ("available_extended", ctypes.c_ulonglong)]

        status = MemoryStatus(length=ctypes.sizeof(MemoryStatus))
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return int(status.total)
    return 0


# %% nbgrader={"grade": false, "grade_id": "system-info", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def system_info():
    """Facts about this machine: python_version, platform, architecture, cpu_count, memory_gb."""
    # TODO: return a dict with the five keys described above.
    # HINT: memory_gb = round(total_memory_bytes() / 1024**3, 1)
    ### BEGIN SOLUTION
    return {
        "python_version": platform.python_version(),
        "platform": platform.system(),
        "architecture": platform.machine(),
        "cpu_count": os.cpu_count() or 1,
        "memory_gb": round(total_memory_bytes() / 1024**3, 1),
    }
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-system-info", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
facts = system_info()
expected_keys = {"python_version", "platform", "architecture", "cpu_count", "memory_gb"}
assert set(facts) == expected_keys, f"keys should be {sorted(expected_keys)}, got {sorted(facts)}"
assert facts["python_version"] == platform.python_version(), \
    f"python_version should be {platform.python_version()!r}, got {facts['python_version']!r}"
assert isinstance(facts["cpu_count"], int) and facts["cpu_count"] >= 1, "cpu_count should be an int ≥ 1"
assert isinstance(facts["memory_gb"], float), "memory_gb should be a float"
print(f"✅ {facts['platform']} {facts['architecture']}, Python {facts['python_version']}, "
      f"{facts['cpu_count']} cores, {facts['memory_gb']} GiB")
### BEGIN HIDDEN TESTS
assert facts["platform"] == platform.system() and facts["architecture"] == platform.machine(), \
    (f"platform/architecture should be {platform.system()!r}/{platform.machine()!r}, "
     f"got {facts['platform']!r}/{facts['architecture']!r}")
try:  # the total memory, measured here by the test (not by the notebook's helper)
    memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
except (AttributeError, ValueError, OSError):
    import ctypes

    class _MemoryStatus(ctypes.Structure):
        _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong)] + \
                   [(name, ctypes.c_ulonglong) for name in ("total", "available", "total_page", "available_page",
                                                            "total_virtual", "available_virtual", "available_extended")]

    _status = _MemoryStatus(length=ctypes.sizeof(_MemoryStatus))
    memory_bytes = int(_status.total) if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(_status)) else 0
assert facts["memory_gb"] == round(memory_bytes / 1024**3, 1), \
    f"memory_gb should be {round(memory_bytes / 1024**3, 1)} (GiB, one decimal), got {facts['memory_gb']!r}"
### END HIDDEN TESTS

# %% [markdown]
# ## What you built
#
# Two small functions, but the whole workflow: you wrote code in a notebook, the tests checked it,
# and `tito export 00` puts it into `tinytorch/core/setup.py`, where any later code can use it:
#
# ```python
# from tinytorch.core.setup import personal_info, system_info
# ```
#
# Next, module 01 builds the data structure everything else rests on: the `Tensor`.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Call `system_info()` and compare `cpu_count` with what your operating system's task manager or
#    `nproc` reports. Why might a notebook on a shared server see fewer cores than the machine has?
# 2. Add a key `"numpy_version"` (from `numpy.__version__`) to a copy of `system_info()`. Which
#    later module would a wrong NumPy version break first, and how would you find out?
# 3. Open `tinytorch/core/setup.py` after `tito export 00`. Which lines of your notebook reached it,
#    and which (tests, prose) stayed behind?
