"""The application layer: the case workflow behind ports (see ``cases.py``)."""
