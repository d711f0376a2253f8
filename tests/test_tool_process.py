"""The test zygote (tests/tool_process.py) runs a script as a fresh
``python script args`` does: same output, exit code and traceback."""
import os
import subprocess
import sys
import textwrap
import time

import pytest
import tool_process
from tool_process import run_python, tool_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith('linux'),
                                reason='the zygote forks (Linux only)')

SCRIPT = '''
import atexit, os, sys, threading, time
print(__name__, sys.argv[1:], os.getcwd(), sys.path[0] == os.path.dirname(
    os.path.realpath(__file__)), os.environ['OMP_NUM_THREADS'])
print('stdin', repr(sys.stdin.read()))
atexit.register(print, 'at exit')
threading.Thread(target=lambda: (time.sleep(0.2), print('thread'))).start()
how = sys.argv[1]
if how == 'raise':
    def inner():
        raise ValueError('boom')
    inner()
if how == 'message':
    sys.exit('a one-line error')
if how == 'kill':
    sys.stdout.flush()
    os.kill(os.getpid(), 9)
sys.exit(int(how))
'''


@pytest.fixture
def script(tmp_path):
    path = tmp_path / 'script.py'
    path.write_text(textwrap.dedent(SCRIPT))
    return path


def fresh(*args, **kwargs):
    return subprocess.run([sys.executable, *map(str, args)],
                          capture_output=True, text=True, env=tool_env(),
                          **kwargs)


@pytest.mark.parametrize('how', ['0', '3', 'raise', 'message', 'kill'])
def test_runs_like_a_fresh_interpreter(script, tmp_path, how):
    assert tool_process._zygote(tool_env()) is not None or os.environ.get(
        'MMVMAE_TESTS_FRESH_PROCESSES')
    forked = run_python(script, how, cwd=tmp_path)
    started = fresh(script, how, cwd=tmp_path)
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        started.returncode, started.stdout, started.stderr)
    assert forked.returncode == {'0': 0, '3': 3, 'raise': 1, 'message': 1,
                                 'kill': -9}[how]
    assert f"__main__ ['{how}'] {tmp_path} True 1" in forked.stdout
    assert "stdin ''" in forked.stdout
    if how != 'kill':
        assert forked.stdout.endswith('thread\nat exit\n')
    if how == 'raise':  # the traceback starts at the script, as Python's
        assert forked.stderr.startswith(
            f'Traceback (most recent call last):\n  File "{script}"')
        assert forked.stderr.endswith('ValueError: boom\n')


def test_timeout_kills_the_run_and_its_children(tmp_path):
    script = tmp_path / 'sleeper.py'
    pid_file = tmp_path / 'child.pid'
    script.write_text(textwrap.dedent(f'''
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, '-c',
                                  'import time; time.sleep(60)'])
        open({str(pid_file)!r}, 'w').write(str(child.pid))
        time.sleep(60)
    '''))
    with pytest.raises(subprocess.TimeoutExpired):
        run_python(script, cwd=tmp_path, timeout=3)
    child = int(pid_file.read_text())
    for _ in range(50):  # killed; reaped by init soon after
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        with open(f'/proc/{child}/stat') as stat:
            if stat.read().split()[2] == 'Z':
                break
        time.sleep(0.1)
    else:
        pytest.fail('the run\'s child survived the timeout')
    # the zygote serves the next run as before
    script.write_text('print("next")')
    assert run_python(script, cwd=tmp_path).stdout == 'next\n'


def test_missing_script_as_python_reports_it(tmp_path):
    missing = tmp_path / 'missing.py'
    forked = run_python(missing, cwd=tmp_path)
    started = fresh(missing, cwd=tmp_path)
    assert (forked.returncode, forked.stderr) == (2, started.stderr)


def test_each_run_draws_fresh_seeds(tmp_path):
    script = tmp_path / 'draw.py'
    script.write_text('import random, numpy as np\n'
                      'print(random.getrandbits(64), np.random.randint(2**31))')
    draws = [run_python(script, cwd=tmp_path).stdout.split()
             for _ in range(3)]
    for i in range(2):  # Python's and numpy's global generators
        assert len({draw[i] for draw in draws}) == 3, draws
