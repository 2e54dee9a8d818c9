"""The architecture holds: derivations/ is SymPy only, and every public object says which
equation of the article it encodes."""

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys

import derivations


def test_importing_derivations_loads_no_numpy():
    modules = [f"derivations.{m.name}" for m in pkgutil.iter_modules(derivations.__path__)]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print('numpy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


EQUATION_REFERENCE = re.compile(r"eq\. \(\d+\)|\(\d+\)-\(\d+\)|\(1\d?\)|\(\d\)")


def public_objects():
    for info in pkgutil.iter_modules(derivations.__path__):
        module = importlib.import_module(f"derivations.{info.name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj


def test_every_public_function_and_class_names_its_equation():
    missing = [
        name
        for name, obj in public_objects()
        if not EQUATION_REFERENCE.search(inspect.getdoc(obj) or "")
    ]
    assert missing == []
