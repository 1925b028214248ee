"""The specialist report's presentation: view model, SVG charts, plain-language notes, HTML/PDF.

Pure functions over :class:`api.report.model.ReportData` (no database, HTTP or clock):

* :mod:`api.report.model` - the frozen, self-validating view types the data assembly fills;
* :mod:`api.report.charts` - ``sum_chart_svg`` and ``lesion_chart_svg`` (inline SVG) and the
  RECIST 1.1 threshold helpers ``pr_threshold_mm`` / ``pd_threshold_mm``;
* :mod:`api.report.notes` - ``report_notes``: what the numbers mean, for a family as well as
  a clinician, ending with the disclaimer;
* :mod:`api.report.render` - ``render_html`` and ``render_pdf`` from one Jinja2 template
  (``templates/report.html.j2``).

Nothing is imported here, so that importing the model does not load WeasyPrint.
"""
