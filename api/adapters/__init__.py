"""Adapters: where the application layer meets a database or Orthanc.

The SQL stores (``sql_store``, ``registration_store``) implement the ports of
``api.workflow.ports`` over SQLAlchemy; ``index_store`` keeps the DICOM index in the
database; ``pacs_gateway`` is the ``Pacs`` port over Orthanc's REST API. Rules live in
``api/workflow`` and ``measurement/``, never here.
"""
