"""`ebmlab bench`: speed and memory figures, each measured against a bare reference in the same run."""
