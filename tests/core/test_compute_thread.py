"""A compute thread flushes subnormal floats to zero (they cost ~100x per op on x86 and appear as models train)."""

import threading

import torch

from ebmlab.core.compute_thread import configure_compute_thread

TINY = 1e-39  # subnormal in float32 (the smallest normal is 1.18e-38)


def subnormal_survives() -> bool:
    x = torch.tensor([TINY], dtype=torch.float32)
    return bool((x * 1.0).item() != 0.0)


def test_flushing_is_set_for_the_calling_thread_only():
    threads = torch.get_num_threads()
    result = {}

    def body():
        result["supported"] = configure_compute_thread(1)
        result["survives"] = subnormal_survives()
        result["threads"] = torch.get_num_threads()

    t = threading.Thread(target=body)
    t.start()
    t.join()
    torch.set_num_threads(threads)
    assert result["threads"] == 1
    if result["supported"]:
        assert not result["survives"]
    assert subnormal_survives()  # this thread's float state is untouched
