"""keep_freed_memory: freed blocks are reused without page faults; the
config key that applies it in tools/train.py and tools/test.py."""
import json
import logging
import os
import subprocess
import sys

import pytest

from mmvmae.utils import malloc

# the scripts load malloc.py by its path: importing mmvmae (torch, mmengine)
# would take seconds in each fresh interpreter and change nothing here
LOAD_MALLOC = f"""
import importlib.util
spec = importlib.util.spec_from_file_location('malloc', {malloc.__file__!r})
malloc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(malloc)
"""
# page faults of allocating and filling three 12 MiB blocks and freeing them,
# five times: glibc's default trims the 36 MiB freed at the heap's top (more
# than twice its adapted 12 MiB mmap threshold) and faults them in again
SCRIPT = LOAD_MALLOC + '''
import resource, sys
import numpy as np
kept = malloc.keep_freed_memory() if sys.argv[1] == 'keep' else False
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(12 * 2**20, np.uint8) for _ in range(3)]
    del blocks
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, max(faults[1:]), faults[1])
'''
# SCRIPT 'default' in a new process started by one that kept freed memory
# with children=True (as a spawn / forkserver dataloader worker would be)
PARENT = LOAD_MALLOC + '''
import subprocess, sys
malloc.keep_freed_memory(children=True)
sys.exit(subprocess.run([sys.executable, '-c', sys.argv[1], 'default'])
         .returncode)
'''
# without the caller's own MALLOC_* settings
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in malloc.ENVIRONMENT}


def faults(*argv: str):
    out = subprocess.run([sys.executable, '-c', *argv], check=True,
                         capture_output=True, text=True,
                         env=CLEAN_ENV).stdout.split()
    return out[0] == 'True', int(out[1]), int(out[2])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc')
def test_keep_freed_memory_reuses_blocks():
    kept, worst, _ = faults(SCRIPT, 'keep')
    if not kept:
        pytest.skip('not glibc')
    assert worst < 500  # the block stays in the heap
    _, _, second = faults(SCRIPT, 'default')
    assert second > 300  # glibc's default: fresh pages again
    # children=True: a process started afresh later keeps it too
    kept, worst, _ = faults(PARENT, SCRIPT)
    assert not kept and worst < 500  # from the environment, not mallopt


@pytest.mark.parametrize('keep,glibc', [(True, True), (True, False),
                                        (False, True)])
def test_build_runner_applies_the_config_key(monkeypatch, keep, glibc):
    """``keep_freed_memory = True`` (the default runtime's setting): applied
    for the processes to come, before the runner exists, and logged."""
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    from mmvmae.engine import runner_setup
    calls, logged = [], []

    def fake_keep(children=False):
        calls.append(children)
        return glibc

    class FakeRunner:
        logger = MMLogger.get_instance('test_keep_freed_memory')

        @classmethod
        def from_cfg(cls, cfg):
            assert calls == ([True] if keep else [])  # before the runner
            return cls()

    monkeypatch.setattr(runner_setup, 'keep_freed_memory', fake_keep)
    monkeypatch.setattr(runner_setup, 'Runner', FakeRunner)
    monkeypatch.setattr(FakeRunner.logger, 'log',
                        lambda level, msg: logged.append((level, msg)))
    runner_setup.build_runner(Config(dict(
        keep_freed_memory=keep, launcher='none', work_dir='unused')))
    messages = [(level, msg) for level, msg in logged
                if 'keep_freed_memory' in msg]
    if not keep:
        assert not calls and not messages
    elif glibc:
        assert messages == [(logging.INFO, 'keep_freed_memory: glibc keeps freed '
                             'memory for reuse (this process and its data '
                             'workers)')]
    else:
        assert messages[0][0] == logging.WARNING and 'not glibc' in messages[0][1]


# the MALLOC_* environment after keep_freed_memory(children=argv[1] == 'yes')
ENV_AFTER = LOAD_MALLOC + '''
import json, os, sys
kept = malloc.keep_freed_memory(children=sys.argv[1] == 'yes')
print(json.dumps([kept, {k: os.environ.get(k) for k in malloc.ENVIRONMENT}]))
'''


def env_after(children: str, **preset: str):
    out = subprocess.run([sys.executable, '-c', ENV_AFTER, children],
                         check=True, capture_output=True, text=True,
                         env={**CLEAN_ENV, **preset}).stdout
    kept, env = json.loads(out)
    if not kept:
        pytest.skip('not glibc')
    return env


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc')
def test_children_keeps_the_users_malloc_settings():
    """``children=True`` sets the MALLOC_* variables for processes started
    later, but a value the user already set is kept."""
    env = env_after('yes', MALLOC_TRIM_THRESHOLD_='131072')
    assert env == {'MALLOC_MMAP_THRESHOLD_': str(32 * 2**20),
                   'MALLOC_TRIM_THRESHOLD_': '131072'}
    assert env_after('yes') == {'MALLOC_MMAP_THRESHOLD_': str(32 * 2**20),
                                'MALLOC_TRIM_THRESHOLD_': str(2**31 - 1)}


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc')
def test_without_children_the_environment_is_unchanged():
    """``children=False`` (the default) applies to this process only: the
    environment that processes started later inherit is left alone."""
    assert env_after('no') == {'MALLOC_MMAP_THRESHOLD_': None,
                               'MALLOC_TRIM_THRESHOLD_': None}
    assert env_after('no', MALLOC_TRIM_THRESHOLD_='131072') == {
        'MALLOC_MMAP_THRESHOLD_': None, 'MALLOC_TRIM_THRESHOLD_': '131072'}
