import os
from pathlib import Path

# Offscreen Qt with two screens: a 1280x720 projector (primary: every window opens on it) and a 1920x1080
# monitor, so layout tests can put the window on either (tests/gui/test_screen_fit.py).
SCREENS = Path(__file__).parent / "gui" / "screens.json"
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREENS}"
