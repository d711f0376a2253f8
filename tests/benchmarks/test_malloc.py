"""keep_freed_memory: freed blocks are reused without page faults."""
import subprocess
import sys

import pytest

# page faults of allocating and filling three 12 MiB blocks and freeing them,
# five times: glibc's default trims the 36 MiB freed at the heap's top (more
# than twice its adapted 12 MiB mmap threshold) and faults them in again
SCRIPT = '''
import resource, sys
import numpy as np
from mmvmae.utils.malloc import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == 'keep' else False
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(12 * 2**20, np.uint8) for _ in range(3)]
    del blocks
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, max(faults[1:]), faults[1])
'''


def faults(mode: str):
    out = subprocess.run([sys.executable, '-c', SCRIPT, mode], check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0] == 'True', int(out[1]), int(out[2])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc')
def test_keep_freed_memory_reuses_blocks():
    kept, worst, _ = faults('keep')
    if not kept:
        pytest.skip('not glibc')
    assert worst < 500  # the block stays in the heap
    _, _, second = faults('default')
    assert second > 300  # glibc's default: fresh pages again
