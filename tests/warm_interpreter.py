# Copyright (c) mmsepvit contributors. All rights reserved.
"""A Python process that imports torch and the host toolboxes once, then
forks one child per tool run.

Every tool run of the test suite would otherwise spend 7-10 s importing the
same modules. mmsepvit itself is not imported here: each child imports it
as the tool does, with the host toolboxes already loaded (its import hook
covers both orders; tests/test_models/test_registry.py tries the other one
in fresh processes).

    python tests/warm_interpreter.py SOCKET_PATH

Protocol, one JSON line each way on a Unix socket per run: the client sends
``{"args": [...], "cwd": ..., "env": {...}, "log": path}``, the server
answers ``{"pid": ...}`` once the child runs (its own session, so the
client can kill the whole group) and ``{"returncode": ...}`` when it ends
(negative: killed by that signal, as in :mod:`subprocess`).
"""
import json
import os
import selectors
import socket
import sys

PRELOAD = ('torch', 'torchvision', 'mmengine.runner', 'mmcv.cnn', 'mmcv.ops',
           'mmpretrain.models', 'mmpretrain.datasets', 'mmseg.models',
           'mmseg.datasets', 'mmdet.models', 'mmdet.datasets')


def _run(args):
    """Run ``python *args`` in this process, as the interpreter would."""
    import runpy
    if args[0] == '-m':
        sys.argv = [args[1], *args[2:]]
        sys.path[0] = os.getcwd()
        runpy.run_module(args[1], run_name='__main__', alter_sys=True)
    elif args[0] == '-c':
        sys.argv = ['-c', *args[2:]]
        sys.path[0] = ''
        exec(compile(args[1], '<string>', 'exec'), {'__name__': '__main__'})
    else:
        sys.argv = list(args)
        sys.path[0] = os.path.dirname(os.path.abspath(args[0]))
        runpy.run_path(args[0], run_name='__main__')


def _child(request):
    """Become the tool run; never returns (a child must not go on serving)."""
    code = 1
    try:
        os.setsid()
        log = os.open(request['log'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        # What the interpreter would have put on sys.path at start-up.
        sys.path[1:1] = [
            entry for entry in request['env'].get('PYTHONPATH', '').split(':')
            if entry
        ]
        if request.get('threads'):
            import torch
            torch.set_num_threads(request['threads'])
        _run(request['args'])
        code = 0
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            code = exit.code or 0
        else:
            print(exit.code, file=sys.stderr)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        import atexit
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(address):
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen()
    print('ready', flush=True)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    running = {}
    while True:
        for _ in selector.select(timeout=0.05):
            connection, _ = server.accept()
            request = json.loads(connection.makefile().readline())
            pid = os.fork()
            if pid == 0:
                for other in (server, connection, *running.values()):
                    other.close()
                _child(request)
            connection.sendall(json.dumps({'pid': pid}).encode() + b'\n')
            running[pid] = connection
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                connection = running.pop(pid)
                reply = dict(returncode=os.waitstatus_to_exitcode(status))
                try:
                    connection.sendall(json.dumps(reply).encode() + b'\n')
                except OSError:  # the client gave up (timeout)
                    pass
                connection.close()


if __name__ == '__main__':
    serve(sys.argv[1])
