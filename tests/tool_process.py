"""Run a script in a process of its own, as ``python script args`` does, but
without paying for ``import torch`` every time (or a tool in this process,
up to an early exit: ``exit_in_process``).

The end-to-end tests run the real tools in separate processes; each fresh
interpreter spent about 4.5 of its 6-7 s of start-up on this 2-core machine
importing torch, scipy, OpenCV, decord and transformers. A "zygote" process
started with the environment of the runs it serves (one zygote per
environment) imports those once and forks a child per run, which then
behaves as a fresh ``python script args``: its own working directory,
``sys.argv``, ``sys.path[0]``, fresh random seeds,
stdin from ``/dev/null``, stdout and stderr to their own files, exit code
from ``SystemExit`` or an uncaught exception (traceback on stderr), thread
joins and ``atexit`` handlers at the end.

Only third-party modules whose import order ``mmvmae.utils.upstream_fixes``
does not depend on are imported ahead: mmengine, mmcv, mmaction2 and mmvmae
are imported by the run itself, in its own order. The zygote is not used if
importing ahead wrote anything to stderr (which a fresh run would show) or
started a thread (forking a process with other threads can deadlock the
child). ``MMVMAE_TESTS_FRESH_PROCESSES=1`` runs every script in a fresh
interpreter instead (slower; the same results); off Linux that is the only
way.
"""
import atexit
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
PRELOAD = ('numpy', 'scipy.stats', 'cv2', 'decord', 'torch',
           'torch.distributed.optim', 'torch.distributed.fsdp',
           'torch.utils.checkpoint', 'torch.utils.data', 'transformers')


# as the suite started: tests that build a Runner in the test process change
# ``os.environ`` (mmengine sets OMP_NUM_THREADS and MKL_NUM_THREADS there)
_SUITE_ENV = dict(os.environ)


def tool_env() -> Dict[str, str]:
    """The environment of the tool runs: the suite's, with the repository on
    ``PYTHONPATH`` and one OpenMP thread per process (2-core machine)."""
    return dict(_SUITE_ENV, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1')


def run_python(script, *args, cwd, env: Optional[Dict[str, str]] = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """``python script args...`` in ``cwd``; stdout and stderr as text.
    Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds, as
    ``subprocess.run`` does (the run and its children are killed)."""
    env = tool_env() if env is None else env
    command = [sys.executable, str(script), *map(str, args)]
    zygote = _zygote(env)
    if zygote is None:
        return _run_fresh(command, cwd, env, timeout)
    return zygote.run(command, cwd, timeout)


def succeeded(result: subprocess.CompletedProcess
              ) -> subprocess.CompletedProcess:
    """``result``, or an ``AssertionError`` with its output if it failed."""
    if result.returncode != 0:
        raise AssertionError(f'{" ".join(map(str, result.args))} failed '
                             f'({result.returncode}):\n'
                             f'{result.stdout[-3000:]}\n'
                             f'{result.stderr[-5000:]}')
    return result


def _run_fresh(command, cwd, env, timeout) -> subprocess.CompletedProcess:
    with subprocess.Popen(command, cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers
            out, err = proc.communicate()
            raise subprocess.TimeoutExpired(command, timeout, out, err)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


class _Zygote:
    """A process that imports ``PRELOAD`` and then forks one child per
    request (a JSON line on its stdin); it answers with the child's pid and
    then its exit status (JSON lines on its stdout)."""

    def __init__(self, env: Dict[str, str]):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, __file__], env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, cwd=REPO_ROOT)
        self.pending = b''
        atexit.register(self.close)
        ready = self._reply(timeout=300)
        self.log.seek(0)
        import_output = self.log.read().decode(errors='replace')
        self.usable = ready == {'ready': True} and not import_output
        if not self.usable:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # the zygote ends at the end of input
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a run left behind
                self.proc.kill()
                self.proc.wait()

    def _reply(self, timeout: Optional[float]) -> Optional[dict]:
        """The next JSON line, or None after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.pending:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0 or not select.select(
                    [fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(
                    'the test zygote process died (exit code '
                    f'{self.proc.wait()}); rerun with '
                    'MMVMAE_TESTS_FRESH_PROCESSES=1')
            self.pending += chunk
        line, self.pending = self.pending.split(b'\n', 1)
        return json.loads(line)

    def run(self, command, cwd, timeout) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory() as tmp:
            out, err = os.path.join(tmp, 'stdout'), os.path.join(tmp, 'stderr')
            self.proc.stdin.write(json.dumps(dict(
                argv=command[1:], cwd=os.path.abspath(cwd or os.curdir),
                stdout=out, stderr=err)).encode() + b'\n')
            self.proc.stdin.flush()
            pid = self._reply(timeout=60)['pid']
            status = self._reply(timeout)
            if status is None:
                os.killpg(pid, signal.SIGKILL)  # the run and its workers
                self._reply(timeout=60)
                raise subprocess.TimeoutExpired(command, timeout,
                                                _read(out), _read(err))
            return subprocess.CompletedProcess(
                command, status['returncode'], _read(out), _read(err))


_ZYGOTES: Dict[tuple, Optional[_Zygote]] = {}


def _zygote(env: Dict[str, str]) -> Optional[_Zygote]:
    """The zygote serving runs in ``env`` (started on first use), or None
    where runs must start fresh interpreters."""
    if (os.environ.get('MMVMAE_TESTS_FRESH_PROCESSES')
            or not sys.platform.startswith('linux')):
        return None
    key = tuple(sorted(env.items()))
    if key not in _ZYGOTES:
        zygote = _Zygote(env)
        _ZYGOTES[key] = zygote if zygote.usable else None
    return _ZYGOTES[key]


def _read(path: str) -> str:
    with open(path, errors='replace') as file:
        return file.read()


def exit_in_process(monkeypatch, script: str, *args: str) -> SystemExit:
    """``tools/<script> args`` run in this process (no start-up at all) up
    to the ``SystemExit`` it must raise (an early, one-line error)."""
    path = str(REPO_ROOT / 'tools' / script)
    monkeypatch.setattr(sys, 'argv', [path, *args])
    try:
        runpy.run_path(path, run_name='__main__')
    except SystemExit as exit_:
        return exit_
    raise AssertionError(f'tools/{script} {" ".join(args)} did not exit')


# ----------------------------------------------------------- the zygote side
def _serve() -> None:
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    replies = os.fdopen(os.dup(1), 'w', buffering=1)
    # forking is safe only while no other thread holds a lock
    single_threaded = len(os.listdir('/proc/self/task')) == 1
    replies.write(json.dumps({'ready': single_threaded}) + '\n')
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            replies.close()
            _child(request)  # does not return
        replies.write(json.dumps({'pid': pid}) + '\n')
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps(
            {'returncode': os.waitstatus_to_exitcode(status)}) + '\n')


def _child(request: dict) -> None:
    """Become ``python argv...`` and exit with its exit code."""
    import threading
    import traceback
    code = 1
    try:
        os.setpgid(0, 0)  # killed as a group on timeout
        _redirect(0, os.devnull, os.O_RDONLY)
        _redirect(1, request['stdout'], os.O_WRONLY | os.O_CREAT)
        _redirect(2, request['stderr'], os.O_WRONLY | os.O_CREAT)
        sys.stdin = open(0, closefd=False)  # not the request pipe's buffer
        os.chdir(request['cwd'])  # the environment is the zygote's own
        sys.argv = list(request['argv'])
        _reseed()
        code = _run_script(sys.argv[0])
        threading._shutdown()  # join non-daemon threads, as at exit
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _reseed() -> None:
    """Fresh seeds, as a new interpreter draws them: forked children would
    otherwise share the zygote's generator states (an unseeded mmengine run
    draws its seed from numpy's). torch's default generator starts from a
    fixed seed in every process anyway; the string hash seed stays the
    zygote's."""
    import random

    import numpy as np
    random.seed()
    np.random.seed()


def _run_script(path: str) -> int:
    """Run ``path`` as ``__main__``; its exit code, as Python reports it."""
    if not os.path.isfile(path):
        print(f"{sys.executable}: can't open file {path!r}: [Errno 2] No "
              'such file or directory', file=sys.stderr)
        return 2
    sys.path[0] = os.path.dirname(os.path.realpath(path))
    try:
        runpy.run_path(path, run_name='__main__')
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except BaseException as error:  # the traceback from the script down
        trace = error.__traceback__
        while trace and trace.tb_frame.f_code.co_filename != path:
            trace = trace.tb_next
        if trace:
            error.__traceback__ = trace
        sys.excepthook(type(error), error, error.__traceback__)
        return 1
    return 0


def _redirect(fd: int, path: str, flags: int) -> None:
    target = os.open(path, flags, 0o644)
    os.dup2(target, fd)
    os.close(target)


def _exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == '__main__':
    _serve()
