# Copyright (c) mmsepvit contributors. All rights reserved.
"""The code style of setup.cfg's ``[flake8]`` section (PEP 8, 79 columns,
no unused or undefined names), checked on every source folder."""
import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

from cli_helpers import REPO

SOURCES = ('mmsepvit', 'tools', 'tests', 'demo', 'configs', 'setup.py')


def test_sources_pass_flake8():
    result = subprocess.run([sys.executable, '-m', 'flake8', *SOURCES],
                            cwd=REPO,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# Overrides of private methods that no public hook replaces, each listed in
# mmsepvit/utils/compat.py's docstring.
PRIVATE_OVERRIDES = {
    ('engine/hooks/resumable_checkpoint_hook.py',
     '_save_checkpoint_with_step'),
    ('models/distillers/frozen_teacher.py', '_apply'),
}


def third_party_private_names(package):
    """``(file, name)`` for every private name of another package that a
    file reaches: ``obj._name``, ``getattr(obj, '_name')`` or an import,
    where mmsepvit itself defines no ``_name``."""
    trees = {
        path.relative_to(package).as_posix(): ast.parse(path.read_text())
        for path in package.rglob('*.py')
    }
    own = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name):
                own.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(
                    node.ctx, ast.Store):
                own.add(node.attr)
    found = set()
    for file, tree in trees.items():
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Attribute):
                names = [node.attr]
            elif (isinstance(node, ast.Call)
                  and getattr(node.func, 'id', None) == 'getattr'
                  and isinstance(node.args[1], ast.Constant)):
                names = [node.args[1].value]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [a.name for a in node.names
                         ] + (node.module or '').split('.')
            found.update(
                (file, name) for name in names
                if name.startswith('_') and not name.startswith('__')
                and name not in own)
    return found


def private_overrides():
    """``(file, name)`` for every private method of another package's class
    that a class of mmsepvit overrides."""
    import mmsepvit
    found = set()
    for info in pkgutil.walk_packages(mmsepvit.__path__, 'mmsepvit.'):
        module = importlib.import_module(info.name)
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and cls.__module__ == info.name):
                continue
            for name, value in vars(cls).items():
                if not (inspect.isfunction(value) or isinstance(
                        value, (staticmethod, classmethod))):
                    continue  # what a metaclass sets
                if name.startswith('_') and not name.startswith('__') and any(
                        name in vars(base) for base in cls.__mro__[1:]
                        if not base.__module__.startswith('mmsepvit')):
                    file = Path(module.__file__).relative_to(
                        Path(mmsepvit.__file__).parent).as_posix()
                    found.add((file, name))
    return found


def test_private_names_of_other_packages_stay_in_the_compat_module():
    found = third_party_private_names(REPO / 'mmsepvit')
    outside = {(file, name)
               for file, name in found if file != 'utils/compat.py'}
    assert not outside, sorted(outside)
    # The checker sees what it is meant to see.
    assert {('utils/compat.py', '_get_predictions'),
            ('utils/compat.py', '_iterator')} <= found
    assert private_overrides() == PRIVATE_OVERRIDES
