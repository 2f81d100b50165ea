"""Make this interpreter behave as if torchvision were not installed (tests only)."""
import importlib.metadata
import importlib.util
import sys

_HIDDEN = "torchvision"


def _hidden(name):
    return name == _HIDDEN or name.startswith(_HIDDEN + ".")


class _Block:
    def find_spec(self, name, path=None, target=None):
        if _hidden(name):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


_find_spec = importlib.util.find_spec
_version = importlib.metadata.version
_distribution = importlib.metadata.distribution


def find_spec(name, package=None):
    return None if _hidden(name) else _find_spec(name, package)


def version(name):
    if _hidden(name):
        raise importlib.metadata.PackageNotFoundError(name)
    return _version(name)


def distribution(name):
    if _hidden(name):
        raise importlib.metadata.PackageNotFoundError(name)
    return _distribution(name)


importlib.util.find_spec = find_spec
importlib.metadata.version = version
importlib.metadata.distribution = distribution
sys.meta_path.insert(0, _Block())
