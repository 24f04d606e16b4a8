"""Settings panels generated from the component config dataclasses (they edit settings only, no torch math)."""

from .expression_editor import ExpressionEditor
from .form import ParamsForm
from .notes_panel import NotesPanel
from .settings_panel import SettingsPanel, scrollable

__all__ = ["ExpressionEditor", "NotesPanel", "ParamsForm", "SettingsPanel", "scrollable"]
