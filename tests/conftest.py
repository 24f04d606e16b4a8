import os
from pathlib import Path

# Offscreen Qt with two screens: a 1280x720 projector (primary: every window opens on it) and a 1920x1080
# monitor, so layout tests can put the window on either (tests/gui/test_screen_fit.py).
SCREENS = Path(__file__).parent / "gui" / "screens.json"
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREENS}"


import pytest  # noqa: E402


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test (small problems run faster and steadier); restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
