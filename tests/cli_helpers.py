# Copyright (c) mmsepvit contributors. All rights reserved.
"""Running the project's command-line tools as a user would: ``python
TOOL ARGS`` in a working folder, with the exit code and the output.

The runs are forks of one warm interpreter (tests/warm_interpreter.py)
that imported torch and the host toolboxes once, instead of fresh
interpreters that spend 7-10 s each importing them; everything from the
tool's own imports on is the tool's. Tests about import order start fresh
interpreters themselves."""
import atexit
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import torch

REPO = Path(__file__).resolve().parents[1]
TRAIN = str(REPO / 'tools' / 'train.py')
TEST = str(REPO / 'tools' / 'test.py')
IMAGE_DEMO = str(REPO / 'demo' / 'image_demo.py')
SEG_DEMO = str(REPO / 'configs' / 'seg' / 'fpn_sepvit_demo_shapes.py')
CLS_DEMO = str(REPO / 'configs' / 'cls' / 'sepvit_demo_shapes.py')
DET_DEMO = str(REPO / 'configs' / 'det' / 'mask_rcnn_sepvit_demo_shapes.py')
SIMMIM_SMALL_DATA = str(REPO / 'configs' / 'selfsup' /
                        'simmim_sepvit_lite_small_data.py')
# Data loading in the main process: faster to start in short test runs.
NO_WORKERS = [
    f'{loader}.{key}={value}'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for key, value in (('num_workers', 0), ('persistent_workers', False))
]


def tool_env(**extra):
    return dict(os.environ, PYTHONWARNINGS='ignore', **extra)


class ToolRun:
    """A tool run forked by the warm interpreter, used like a
    :class:`subprocess.Popen`: ``pid``, ``poll()``, ``wait()``, ``kill()``."""

    def __init__(self, connection, args):
        self.connection = connection
        self.args = args
        self.returncode = None
        self._received = b''
        self.pid = self._reply(None)['pid']

    def _reply(self, timeout):
        """The server's next message; None if none came within timeout."""
        while b'\n' not in self._received:
            ready, _, _ = select.select([self.connection], [], [], timeout)
            if not ready:
                return None
            received = self.connection.recv(4096)
            if not received:
                raise RuntimeError(
                    f'tests/warm_interpreter.py stopped during {self.args}')
            self._received += received
        line, self._received = self._received.split(b'\n', 1)
        return json.loads(line)

    def _finish(self, reply):
        if reply is not None:
            self.returncode = reply['returncode']
            self.connection.close()

    def poll(self):
        if self.returncode is None:
            self._finish(self._reply(0))
        return self.returncode

    def wait(self, timeout=None):
        """The exit code; kill the run's processes after ``timeout`` s."""
        if self.returncode is None:
            self._finish(self._reply(timeout))
            if self.returncode is None:
                os.killpg(self.pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def kill(self):
        """SIGKILL the tool's process, as a user's ``kill -9`` would."""
        os.kill(self.pid, signal.SIGKILL)

    def pause(self):
        """SIGSTOP the tool's process: it halts wherever it is."""
        os.kill(self.pid, signal.SIGSTOP)

    def go_on(self):
        """SIGCONT a paused process."""
        os.kill(self.pid, signal.SIGCONT)


class WarmInterpreter:
    """Starts tool runs as forks of tests/warm_interpreter.py, which has
    imported torch and the toolboxes once (started at first use)."""

    def __init__(self):
        self.server = None

    def _start_server(self):
        self.folder = tempfile.TemporaryDirectory()
        self.address = os.path.join(self.folder.name, 'socket')
        command = [
            sys.executable,
            str(REPO / 'tests' / 'warm_interpreter.py'), self.address
        ]
        self.server = subprocess.Popen(
            command, env=tool_env(), stdout=subprocess.PIPE, text=True)
        if self.server.stdout.readline().strip() != 'ready':
            raise RuntimeError('tests/warm_interpreter.py did not start')
        atexit.register(self.server.kill)

    def start(self, args, cwd, log, threads=None, **env):
        """Start ``python *args`` in ``cwd``, its output going to the file
        ``log``, with ``threads`` intra-op threads (None: PyTorch's
        default); return its :class:`ToolRun`."""
        if self.server is None or self.server.poll() is not None:
            self._start_server()
        args = list(map(str, args))
        open(log, 'w').close()  # there to read as soon as this returns
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.address)
        request = dict(
            args=args,
            cwd=str(cwd),
            env=tool_env(**env),
            log=str(log),
            threads=threads)
        connection.sendall(json.dumps(request).encode() + b'\n')
        return ToolRun(connection, args)


WARM = WarmInterpreter()
start_tool = WARM.start


def import_tool(path):
    """A tool script as a module (its ``main`` not run), to test its
    functions with parts replaced; its folder is on ``sys.path`` while it
    loads, as when it runs, for the modules beside it that it imports.
    What it sets in ``os.environ`` for its own run (the benchmarks' kernel
    cache) does not stay for the other tests."""
    folder = str(Path(path).resolve().parent)
    sys.path.insert(0, folder)
    try:
        with mock.patch.dict(os.environ):
            spec = importlib.util.spec_from_file_location(
                Path(path).stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module


def run_tool(args, cwd, timeout=600, **env):
    """Run ``python *args`` in ``cwd``; return (exit code, stdout+stderr)."""
    return run_tools([args], cwd, timeout, **env)[0]


def run_tools(commands, cwd, timeout=600, **env):
    """Run several ``python *args`` at once (much of a short tool run is
    single-threaded), sharing the cores: more threads than cores make
    PyTorch's threads wait for each other many times over. Return their
    (exit code, output) in order."""
    threads = None
    if len(commands) > 1:
        threads = max(1, torch.get_num_threads() // len(commands))
    with tempfile.TemporaryDirectory() as logs:
        runs = [
            start_tool(
                args, cwd, os.path.join(logs, str(i)), threads=threads, **env)
            for i, args in enumerate(commands)
        ]
        results = []
        for i, run in enumerate(runs):
            code = run.wait(timeout)
            with open(os.path.join(logs, str(i))) as log:
                results.append((code, log.read()))
    return results
