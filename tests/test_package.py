"""The package's public names and its lazy import of Keras."""

import subprocess
import sys

import skpermgrad


def test_every_public_name_resolves_and_is_listed():
    for name in skpermgrad.__all__:
        assert getattr(skpermgrad, name) is not None
        assert name in dir(skpermgrad)


def test_import_does_not_load_keras():
    code = "import sys, skpermgrad; print('keras' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def _public_callables():
    """Every public function, and every public method skpermgrad defines."""
    import inspect

    import skpermgrad.datasets
    import skpermgrad.exceptions
    import skpermgrad.model_selection
    import skpermgrad.models

    modules = (
        skpermgrad,
        skpermgrad.models,
        skpermgrad.model_selection,
        skpermgrad.datasets,
        skpermgrad.exceptions,
    )
    seen = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or not getattr(obj, "__module__", "").startswith(
                "skpermgrad"
            ):
                continue
            if not inspect.isclass(obj):
                seen[name] = obj
                continue
            for attr in dir(obj):
                if attr.startswith("_") and attr != "__init__":
                    continue
                method = inspect.getattr_static(obj, attr)
                method = getattr(method, "__func__", method)
                method = getattr(method, "fn", method)  # available_if's
                if inspect.isfunction(method) and method.__module__.startswith(
                    "skpermgrad"
                ):
                    seen[f"{name}.{attr}"] = method
    return seen


def test_public_functions_and_methods_have_type_hints():
    """py.typed promises hints: every parameter and return of the public API."""
    import inspect

    missing = []
    for name, func in _public_callables().items():
        signature = inspect.signature(func)
        for param in signature.parameters.values():
            if param.name not in ("self", "cls") and param.annotation is param.empty:
                missing.append(f"{name}({param.name})")
        if signature.return_annotation is signature.empty:
            missing.append(f"{name} -> ?")
    assert not missing, missing
