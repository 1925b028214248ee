"""The application layer: the case workflow behind ports (see ``service.py``)."""
