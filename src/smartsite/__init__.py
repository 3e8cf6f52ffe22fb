"""smartsite — a smart construction-site (智慧工地) supervision platform for Shanghai."""

__version__ = "0.1.0"
